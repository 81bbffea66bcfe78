"""``dsve validate`` and ``dsve schemas``: output lines at the right positions, JSON, exit codes, batches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from broker.cli import main
from broker.cli.schema_commands import FIRST_READ, PARALLEL_THRESHOLD, _collect

MINI = Path(__file__).parent / "data" / "mini"
VALID = (MINI / "pantedokument.xml").read_text()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", "--xsd-dir", str(MINI), *args])
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def position_of(text: str, needle: str) -> tuple[int, int]:
    at = text.index(needle)
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


def test_valid_file_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(MINI / "pantedokument.xml"))
    assert code == 0
    assert out == "1 file: 1 valid, 0 invalid\n"


def test_each_error_is_printed_at_its_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        VALID.replace("<orgnr>930000000</orgnr>", "<orgnr>930000001</orgnr>")
        .replace("<beloep>3500000</beloep>", "<beloep>mange</beloep>")
        .replace("<kontonummer>12345678903", "<kontonummer>1234")
    )
    bad = write(tmp_path / "bad.xml", text)
    code, out, _ = run(capsys, str(bad))
    assert code == 1
    lines = out.splitlines()
    assert lines[-1] == "1 file: 0 valid, 1 invalid"
    located = {tuple(line.split(":", 3)[1:3]) for line in lines[:-1]}
    expected = {position_of(text, tag) for tag in ("<orgnr>930000001", "<beloep>", "<kontonummer>")}
    assert located == {(str(line), str(column)) for line, column in expected}
    assert all(line.startswith(f"{bad}:") for line in lines[:-1])
    assert any("orgnr 930000001 has a wrong check digit" in line for line in lines)


def test_not_well_formed_file_is_invalid_with_its_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "broken.xml", "<a>\n  <b>\n</a>\n")
    code, out, _ = run(capsys, str(bad))
    assert code == 1
    assert out.startswith(f"{bad}:3:")


def test_missing_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(MINI / "pantedokument.xml"), str(tmp_path / "finnes-ikke.xml"))
    assert code == 2
    assert "cannot read" in out and "1 unreadable" in out


def test_usage_errors_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate"])
    assert caught.value.code == 2
    assert run(capsys, str(tmp_path))[0] == 2  # a directory without *.xml
    assert run(capsys, "--schema", str(tmp_path / "none.xsd"), str(MINI / "pantedokument.xml"))[0] == 2
    assert main(["validate", "--xsd-dir", str(tmp_path), str(MINI / "pantedokument.xml")]) == 2
    capsys.readouterr()


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.xml", VALID.replace("<beloep>3500000</beloep>", "<beloep>-1</beloep>"))
    code, out, _ = run(capsys, "--format", "json", str(MINI / "pantedokument.xml"), str(bad))
    assert code == 1
    document = json.loads(out)
    assert document["summary"] == {"files": 2, "valid": 1, "invalid": 1, "unreadable": 0}
    good_entry, bad_entry = document["files"]
    assert good_entry == {
        "file": str(MINI / "pantedokument.xml"),
        "messageType": "pantedokument",
        "valid": True,
        "errors": [],
    }
    (error,) = bad_entry["errors"]
    assert error["path"] == "/pantedokument/pant/beloep"
    assert (error["line"], error["column"]) == position_of(VALID, "<beloep>")
    assert error["code"] == "schema"


def test_directories_are_walked_recursively_for_xml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "a" / "b" / "dyp.xml", VALID)
    write(tmp_path / "topp.xml", VALID)
    write(tmp_path / "notat.txt", "ikke xml")
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 0
    assert out == "2 files: 2 valid, 0 invalid\n"


def test_any_schema_with_schema_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = write(
        tmp_path / "tall.xsd",
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="tall" type="xs:int"/></xs:schema>',
    )
    good = write(tmp_path / "god.xml", "<tall>7</tall>")
    bad = write(tmp_path / "feil.xml", "<?xml version='1.0'?>\n<tall>sju</tall>")
    code, out, _ = run(capsys, "--schema", str(schema), str(good), str(bad))
    assert code == 1
    assert out.splitlines()[0].startswith(f"{bad}:2:1: Element 'tall'")


def test_large_batches_in_worker_processes_match_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_text = VALID.replace("<beloep>3500000</beloep>", "<beloep>x</beloep>")
    for n in range(PARALLEL_THRESHOLD + 10):
        write(tmp_path / f"m{n:04d}.xml", bad_text if n % 7 == 0 else VALID)
    code, parallel_out, _ = run(capsys, "--jobs", "2", str(tmp_path))
    assert code == 1
    _, serial_out, _ = run(capsys, "--jobs", "1", str(tmp_path))
    assert parallel_out == serial_out
    invalid = len(range(0, PARALLEL_THRESHOLD + 10, 7))
    assert (
        parallel_out.splitlines()[-1] == f"{PARALLEL_THRESHOLD + 10} files: {PARALLEL_THRESHOLD + 10 - invalid} "
        f"valid, {invalid} invalid"
    )


def test_schemas_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "--xsd-dir", str(MINI)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["pantedokument", "pant", "bank", "→", "megler"]
    assert main(["schemas", "--xsd-dir", str(MINI), "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert entries[1]["messageType"] == "pantedokumentKvittering"
    assert entries[1]["senderRoles"] == ["megler"] and entries[1]["schema"] == "pant.xsd"


def test_a_catalogue_schema_that_fails_to_compile_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("catalogue.toml", "common.xsd"):
        (tmp_path / name).write_bytes((MINI / name).read_bytes())
    (tmp_path / "pant.xsd").write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><xs:bogus/></xs:schema>")
    code = main(["validate", "--xsd-dir", str(tmp_path), str(MINI / "pantedokument.xml")])
    assert code == 2
    assert "pant.xsd" in capsys.readouterr().err


def test_walk_order_matches_path_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Components compare one by one: a/b.xml sorts before a.xml, unlike the plain strings.
    for name in ("a/b.xml", "a.xml", "a/a/z.xml", "B.xml", ".skjult/c.xml", "a/ikke.xml.txt"):
        write(tmp_path / name, VALID)
    (tmp_path / "lenke").symlink_to(tmp_path / "a", target_is_directory=True)
    files, missing = _collect([str(tmp_path)])
    expected = [str(p) for p in sorted(tmp_path.rglob("*.xml")) if p.is_file()]
    assert files == expected and not missing
    assert [Path(f).relative_to(tmp_path).as_posix() for f in files] == [
        ".skjult/c.xml",
        "B.xml",
        "a/a/z.xml",
        "a/b.xml",
        "a.xml",
    ]


def test_files_past_the_first_read_and_past_the_body_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    padding = "<!--" + "x" * (3 * FIRST_READ) + "-->\n"
    large = write(tmp_path / "stor.xml", VALID.replace("<pantedokument", padding + "<pantedokument", 1))
    code, out, _ = run(capsys, str(large))
    assert (code, out) == (0, "1 file: 1 valid, 0 invalid\n")
    monkeypatch.setenv("DSVE_MAX_BODY_BYTES", str(2 * FIRST_READ))
    code, out, _ = run(capsys, str(large))
    assert code == 1
    assert out.startswith(f"{large}:0:0: the body is {2 * FIRST_READ + 1} bytes, more than the limit")


def test_validate_imports_nothing_of_the_store_or_the_signatures() -> None:
    """Start-up is most of the cost of a small run: building the parser must stay argparse-level, and the
    records it loads are named tuples and plain classes (``dataclasses`` and its generated methods were
    7-10 ms of the ~24 ms the command added to the interpreter's start-up)."""
    probe = (
        "import sys; from broker.cli import main; main(['validate', '--xsd-dir', sys.argv[1], sys.argv[2]]); "
        "heavy = ('sqlalchemy', 'cryptography', 'signxml', 'aiohttp', 'asyncio', 'importlib.metadata', 'xmlschema', "
        "'dataclasses', 'broker.domain.participants'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(MINI), str(MINI / "pantedokument.xml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_validate_with_a_catalogue_directory_builds_no_broker_settings() -> None:
    """The broker's settings check and convert fifty variables; validation needs the four XML limits."""
    probe = (
        "import sys; from broker.cli import main; main(['validate', '--xsd-dir', sys.argv[1], sys.argv[2]]); "
        "print('broker.config' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(MINI), str(MINI / "pantedokument.xml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"


def test_as_the_program_every_line_is_written_before_the_quick_exit(tmp_path: Path) -> None:
    """Run as the program, ``dsve validate`` ends without the interpreter's teardown: nothing may be lost."""
    for n in range(300):  # past the parallel threshold: the forked copies' answers are printed too
        text = VALID.replace("<beloep>3500000", "<beloep>mange") if n % 3 == 0 else VALID
        write(tmp_path / f"{n:03d}.xml", text)
    program = "import sys; from broker.cli import main; sys.exit(main())"
    for extra in ([], ["--format", "json"]):
        result = subprocess.run(
            [sys.executable, "-c", program, "validate", "--xsd-dir", str(MINI), *extra, str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        if extra:
            assert json.loads(result.stdout)["summary"] == {"files": 300, "valid": 200, "invalid": 100, "unreadable": 0}
        else:
            assert result.stdout.endswith("300 files: 200 valid, 100 invalid\n")
            assert sum(1 for line in result.stdout.splitlines() if line.startswith(str(tmp_path))) >= 100
