"""docs/verify_inspection_package.py is the verifier's own code (issue 22)."""
import ast
import subprocess
import sys

from intranet.audit import chain, export, package_verifier, standalone


def test_the_docs_script_is_built_from_the_current_sources():
    assert standalone.TARGET.read_text(encoding="utf-8") == standalone.build(), (
        "docs/verify_inspection_package.py is out of date: run "
        "`.venv/bin/python -m intranet.audit.standalone`")


def test_the_script_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(standalone.build())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import was left in"
            imported.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"cryptography", "__future__"}
    assert imported <= allowed, imported - allowed
    done = subprocess.run([sys.executable, "-I", str(standalone.TARGET), "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "--public-key" in done.stdout


def test_the_verifier_knows_the_fields_and_format_of_the_exporter():
    assert package_verifier.FIELDS == chain.FIELDS
    assert package_verifier.INT_FIELDS == export.INT_FIELDS
    assert package_verifier.FORMAT == export.FORMAT_SIGNED
    assert package_verifier.ENTRIES == export.ENTRIES and package_verifier.CASES == export.CASES


def test_a_proof_beginning_with_a_formula_character_is_quoted_and_read_back():
    """Base64 may begin with "+": the package's CSVs quote it like any text a
    spreadsheet would take for a formula, and the verifier reads it back."""
    from intranet.tabular import TRIGGERS, neutralise

    for first in (b"\xf8", b"\xfc", b"\x00"):
        raw = first + bytes(63)
        cell = neutralise(package_verifier.encode_proof([raw[:32], raw[32:]]))
        assert cell[:1] not in TRIGGERS
        assert package_verifier.decode_proof(package_verifier._unquote(cell)) == [raw[:32], raw[32:]]
    assert neutralise(package_verifier.encode_proof([b"\xf8" + bytes(31)])).startswith("'+")
