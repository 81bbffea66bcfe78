"""Building test packages: a ZIP of named files and the manifest an official sender would give."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures.third_party import DSVE_EXAMPLES

# The official examples carry placeholder personal, account and KID numbers and two placeholder organisation
# numbers (none valid under any rule: see test_the_examples_placeholders_are_refused_by_the_shipped_defaults);
# the tests check them as a test environment would, with DSVE_ACCEPT_TEST_IDENTIFIERS on.


@dataclass(frozen=True)
class Example:
    """An official example as a sender would send it: type, file name in the ZIP, manifest, sender's role."""

    file: str
    message_type: str
    zip_name: str
    role: str
    properties: dict[str, str] = field(default_factory=dict)

    def manifest(self) -> dict[str, str]:
        return {"messageType": self.message_type, **self.properties}

    def data(self) -> bytes:
        return (DSVE_EXAMPLES / self.file).read_bytes()


ACK = {"status": "RutetSuksessfullt", "statusDescription": "Rutet til oppdraget"}
VALID = (
    Example(
        "innfrielsessaldoforespoersel_1.0.xml",
        "Innfrielsessaldoforespoersel",
        "innfrielsessaldoforespoersel_1.xml",
        "megler",
    ),
    Example("innfrielsessaldosvar_1.0.xml", "Innfrielsessaldosvar", "innfrielsessaldosvar_1.xml", "bank", ACK),
    Example("intensjonfrabank-example.xml", "IntensjonFraBank", "intensjonfrabank.xml", "bank"),
    Example("intensjonsendring-fra-bank-example.xml", "Intensjonsendring", "intensjonsendring.xml", "bank"),
    Example(
        "kjoepekontraktEndringFraMegler-example.xml",
        "KjoepekontraktFraMegler",
        "kjoepekontraktframegler_7.xml",
        "megler",
    ),
    Example(
        "kjoepekontraktforespoerselFraBank-example.xml",
        "KjoepekontraktforespoerselFraBank",
        "kjoepekontraktforespoerselfrabank_1.xml",
        "bank",
    ),
    Example("restgjeldsforespoersel_1.0.xml", "Restgjeldsforespoersel", "restgjeldsforespoersel_1.xml", "megler"),
    Example("restgjeldssvar_1.0.xml", "Restgjeldssvar", "restgjeldssvar_1.xml", "bank", ACK),
)
STALE = (
    Example("intensjonsendring-example.xml", "Intensjonsendring", "intensjonsendring.xml", "megler"),
    Example("intensjonssvarframegler-example.xml", "IntensjonssvarFraMegler", "svar.xml", "megler", ACK),
    Example(
        "kjoepekontraktsvarFraMegler-example.xml",
        "KjoepekontraktsvarFraMegler",
        "kjoepekontraktsvarframegler_1.xml",
        "megler",
        {"status": "RutetSuksessfullt"},
    ),
    Example(
        "kjoepekontrakt-request-example.xml",
        "KjoepekontraktforespoerselFraBank",
        "kjoepekontraktforespoerselfrabank_2.xml",
        "bank",
    ),
)


def write_zip(path: Path, files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path
