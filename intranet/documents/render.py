"""Drawing slips and letters with reportlab and its built-in Japanese CID
fonts (no font files needed). Letters are laid out for a 長形3号 window
envelope: the address block sits where the window is when A4 is folded in three."""
from __future__ import annotations

import functools
import io

from reportlab import rl_config
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from ..wareki import wareki
from .content import Document, Office

#: Compressed page streams are written as binary, not ASCII85 text: the
#: encoding is pure Python without reportlab's optional C accelerator and took
#: a third of a letter batch's time (issue 21); the PDF is also a fifth smaller.
#: Only this module draws PDFs.
rl_config.useA85 = 0

MINCHO, GOTHIC = "HeiseiMin-W3", "HeiseiKakuGo-W5"
pdfmetrics.registerFont(UnicodeCIDFont(MINCHO))
pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))

WIDTH, HEIGHT = A4
LEFT = 20 * mm
RIGHT = WIDTH - 20 * mm

ENFORCEMENT_WARNING = (
    "指定期限までに納付がない場合は、地方税法の規定により、財産（給与・預貯金・不動産等）の"
    "差押えなどの滞納処分を行うことがあります。また、納期限の翌日から納付の日までの日数に応じて"
    "延滞金が加算されます。既に納付済みの場合は、行き違いですのでご容赦ください。")

#: What a letter says of each enclosure it names (Document.enclosures).
ENCLOSURE_NOTES = {
    "口座振替依頼書": "口座振替（自動払込）をご希望の方は、同封の口座振替依頼書に必要事項を記入し、"
                      "金融機関へのお届け印を押して、税務課へご返送ください。",
}


def yen(value: int) -> str:
    return f"{value:,}円"


def _address_block(c: Canvas, doc: Document) -> None:
    """The window of a 長形3号 envelope: about 23 mm from the left, 15 mm from the top."""
    top = HEIGHT - 20 * mm
    c.setFont(MINCHO, 10.5)
    c.drawString(25 * mm, top, f"〒{doc.postal_code}")
    c.setFont(MINCHO, 11)
    c.drawString(25 * mm, top - 6 * mm, doc.address[:34])
    if len(doc.address) > 34:
        c.drawString(25 * mm, top - 11 * mm, doc.address[34:68])
    if doc.address_extra:
        c.drawString(25 * mm, top - 16 * mm, doc.address_extra[:34])
    c.setFont(MINCHO, 14)
    c.drawString(25 * mm, top - 26 * mm, f"{doc.name} 様")


def _header(c: Canvas, doc: Document, title: str) -> float:
    c.setFont(MINCHO, 9)
    c.drawRightString(RIGHT, HEIGHT - 20 * mm, f"文書番号 {doc.doc_no}")
    c.drawRightString(RIGHT, HEIGHT - 25 * mm, f"発行日 {wareki(doc.issue_date)}")
    c.drawRightString(RIGHT, HEIGHT - 30 * mm, f"案件番号 {doc.case_no}")
    c.setFont(GOTHIC, 18)
    c.drawCentredString(WIDTH / 2, HEIGHT - 112 * mm, title)
    return HEIGHT - 122 * mm


def _table(c: Canvas, doc: Document, y: float) -> float:
    columns = [("年度", LEFT), ("税目", LEFT + 17 * mm), ("期別", LEFT + 62 * mm),
               ("通知書番号", LEFT + 75 * mm), ("納期限", LEFT + 105 * mm)]
    amounts = [("本税", RIGHT - 30 * mm), ("延滞金", RIGHT)]
    c.setFont(GOTHIC, 9)
    for label, x in columns:
        c.drawString(x, y, label)
    for label, x in amounts:
        c.drawRightString(x, y, label)
    c.line(LEFT, y - 2 * mm, RIGHT, y - 2 * mm)
    c.setFont(MINCHO, 9.5)
    for line in doc.lines:
        y -= 6 * mm
        c.drawString(columns[0][1], y, f"{line.fiscal_year}")
        c.drawString(columns[1][1], y, line.tax_label)
        c.drawString(columns[2][1], y, f"第{line.period_no}期")
        c.drawString(columns[3][1], y, line.notice_no)
        c.drawString(columns[4][1], y, wareki(line.due_date))
        c.drawRightString(amounts[0][1], y, yen(line.tax))
        c.drawRightString(amounts[1][1], y, yen(line.late_charge))
    y -= 3 * mm
    c.line(LEFT, y, RIGHT, y)
    c.setFont(MINCHO, 10)
    rows = [("本税 合計", doc.tax_total), ("延滞金 合計", doc.late_charge_total)]
    if doc.fee:
        rows.append(("督促手数料", doc.fee))
    for label, value in rows:
        y -= 6 * mm
        c.drawString(RIGHT - 75 * mm, y, label)
        c.drawRightString(RIGHT, y, yen(value))
    y -= 8 * mm
    c.setFont(GOTHIC, 12)
    c.drawString(RIGHT - 75 * mm, y, "納付額 合計")
    c.drawRightString(RIGHT, y, yen(doc.total))
    return y


def _wrap(c: Canvas, text: str, x: float, y: float, width: float, font: str, size: float) -> float:
    c.setFont(font, size)
    for line in _wrapped(text, width, font, size):
        c.drawString(x, y, line)
        y -= size * 1.5
    return y


@functools.lru_cache(maxsize=512)
def _wrapped(text: str, width: float, font: str, size: float) -> tuple[str, ...]:
    """``text`` cut into lines no wider than ``width``. Cached: the texts
    wrapped are the same on every letter of a batch (the warning, the places,
    the deadline sentence), and measuring them character by character was a
    third of the time of a batch (issue 21)."""
    lines, line = [], ""
    for ch in text:
        if pdfmetrics.stringWidth(line + ch, font, size) > width:
            lines.append(line)
            line = ""
        line += ch
    if line:
        lines.append(line)
    return tuple(lines)


def _footer(c: Canvas, office: Office) -> None:
    y = 40 * mm
    c.setFont(GOTHIC, 9.5)
    c.drawString(LEFT, y, "お問い合わせ先")
    c.setFont(MINCHO, 9.5)
    c.drawString(LEFT, y - 5 * mm, office.name)
    c.drawString(LEFT, y - 10 * mm, office.address)
    c.drawString(LEFT, y - 15 * mm, f"電話 {office.phone}（{office.hours}）")


CVS_WORDS = ("コンビニ",)


def payment_places(office: Office, at_stores: bool) -> str:
    """The office's 納付場所 (places separated by 「、」), without convenience
    stores unless the document carries their barcode: a store cannot take
    a payment without it."""
    if at_stores:
        return office.payment_places
    return "、".join(place for place in office.payment_places.split("、")
                    if not any(word in place for word in CVS_WORDS))


def _cvs_barcode(c: Canvas, doc: Document) -> None:
    """Right of the footer: the GS1-128 symbol, its digits under it."""
    barcode = doc.cvs_barcode
    symbol = Code128(barcode.symbol_value, barWidth=barcode.module_mm * mm, barHeight=12 * mm,
                     humanReadable=False)
    x, y = RIGHT - symbol.width, 28 * mm
    symbol.drawOn(c, x, y)
    middle = x + symbol.width / 2
    text = barcode.human_readable
    size = min(8.0, (symbol.width - 2 * symbol.lquiet) / pdfmetrics.stringWidth(text, "Helvetica", 1))
    c.setFont("Helvetica", size)
    c.drawCentredString(middle, y - 4 * mm, text)
    c.setFont(GOTHIC, 8)
    c.drawCentredString(middle, y + 14 * mm, "コンビニエンスストア収納用")
    c.setFont(MINCHO, 7.5)
    c.drawCentredString(middle, y + 19 * mm, f"指定期限（{wareki(doc.deadline)}）を過ぎると使えません")


def draw_slip(c: Canvas, doc: Document, office: Office) -> None:
    _address_block(c, doc)
    y = _header(c, doc, "納付書（再発行）")
    c.setFont(MINCHO, 10.5)
    c.drawString(LEFT, y, f"指定期限 {wareki(doc.deadline)} までに、下記の金額を納付してください。")
    c.drawString(LEFT, y - 6 * mm, "延滞金は指定期限の日に納付した場合の金額です。")
    y = _table(c, doc, y - 16 * mm)
    places = payment_places(office, doc.cvs_barcode is not None)
    y = _wrap(c, f"納付場所: {places}", LEFT, y - 12 * mm, RIGHT - LEFT, MINCHO, 9.5)
    if doc.cvs_barcode:
        _cvs_barcode(c, doc)
    _footer(c, office)


def draw_letter(c: Canvas, doc: Document, office: Office) -> None:
    _address_block(c, doc)
    y = _header(c, doc, "催　告　書")
    y = _wrap(c, "あなたの税金について、下記のとおり納期限を過ぎても納付が確認できません。"
                 f"{wareki(doc.deadline)}（指定期限）までに必ず納付してください。",
              LEFT, y, RIGHT - LEFT, MINCHO, 10.5)
    y = _table(c, doc, y - 8 * mm)
    y = _wrap(c, ENFORCEMENT_WARNING, LEFT, y - 12 * mm, RIGHT - LEFT, MINCHO, 9.5)
    y = _wrap(c, f"納付場所: {payment_places(office, False)}", LEFT, y - 4 * mm, RIGHT - LEFT,
              MINCHO, 9.5)
    _footer(c, office)
    if doc.enclosures:
        _enclosures(c, doc)


#: The enclosure box: right of the address block, outside a 長形3号 window
#: (23–113 mm from the left), above the title; nothing else is drawn there,
#: so a letter of many lines keeps its layout.
ENCLOSURE_LEFT, ENCLOSURE_TOP = RIGHT - 68 * mm, HEIGHT - 62 * mm


def _enclosures(c: Canvas, doc: Document) -> None:
    """「同封物」: what is in the envelope, and what to do with it."""
    x, width = ENCLOSURE_LEFT + 3 * mm, RIGHT - ENCLOSURE_LEFT - 6 * mm
    y = ENCLOSURE_TOP - 6 * mm
    y = _wrap(c, f"同封物: {'、'.join(doc.enclosures)}", x, y, width, GOTHIC, 10) - 1 * mm
    for name in doc.enclosures:
        if name in ENCLOSURE_NOTES:
            y = _wrap(c, ENCLOSURE_NOTES[name], x, y, width, MINCHO, 8.5)
    c.rect(ENCLOSURE_LEFT, y + 1 * mm, RIGHT - ENCLOSURE_LEFT, ENCLOSURE_TOP - y - 1 * mm)


def render(documents: list[Document], office: Office, draw) -> bytes:
    """One PDF, one page per document."""
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle("納付書" if draw is draw_slip else "催告書")
    c.setAuthor(office.name)
    for doc in documents:
        draw(c, doc, office)
        c.showPage()
    c.save()
    return out.getvalue()
