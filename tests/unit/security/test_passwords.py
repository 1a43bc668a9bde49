import pytest

from intranet.security.passwords import make_context, policy_problems


@pytest.mark.parametrize("password,problems", [
    ("Correct-Horse-42", []),
    ("short-1A", ["password.too_short"]),
    ("alllowercaseletters", ["password.too_simple"]),
    ("x" * 129 + "A", ["password.too_long"]),
    ("yamada-Secret-2026", ["password.contains_login"]),
])
def test_policy(password, problems):
    assert policy_problems(password, login="Yamada") == problems


def test_production_parameters_are_argon2id_t2_m19mib():
    context = make_context({})
    hashed = context.hash("Correct-Horse-42")
    assert hashed.startswith("$argon2id$") and "m=19456,t=2,p=1" in hashed
    assert context.verify("Correct-Horse-42", hashed)
