"""The SDK's Maskinporten-style grant and its reading of Altinn's answers (the flow itself runs against the
broker in ``test_sdk_file_transfers.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from participants.sdk.file_transfer_client import party
from participants.sdk.file_transfer_models import FileTransferOverview
from participants.sdk.maskinporten import build_maskinporten_grant


def test_the_grant_is_built_as_altinns_clients_build_it() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    grant = build_maskinporten_grant("client-1", key, "kid-1", "https://broker.example/", orgnr="930000000", jti=False)
    assert jwt.get_unverified_header(grant) == {"alg": "ES256", "kid": "kid-1", "typ": "JWT"}
    claims = jwt.decode(grant, key.public_key(), algorithms=["ES256"], audience="https://broker.example/")
    assert claims["iss"] == "client-1" and "jti" not in claims and "sub" not in claims
    assert claims["scope"] == "altinn:broker.write altinn:broker.read"
    assert claims["exp"] - claims["iat"] == 60
    assert claims["authorization_details"] == [
        {
            "type": "urn:altinn:systemuser",
            "systemuser_org": {"authority": "iso6523-actorid-upis", "ID": "0192:930000000"},
        }
    ]
    with_jti = jwt.decode(
        build_maskinporten_grant("client-1", key, "kid-1", "aud", ["altinn:broker.read"]),
        key.public_key(),
        algorithms=["ES256"],
        audience="aud",
    )
    assert len(with_jti["jti"]) == 36 and with_jti["scope"] == "altinn:broker.read"


def test_details_are_read_with_altinns_field_names() -> None:
    details = FileTransferOverview.from_json(
        {
            "fileTransferId": "f-1",
            "resourceId": "kv_dsve",
            "fileName": "package.zip",
            "sendersFileTransferReference": "sak-1",
            "checksum": "0cc175b9c0f1b6a831c399e269772661",
            "fileTransferSize": 1,
            "fileTransferStatus": "Published",
            "fileTransferStatusText": "Published",
            "fileTransferStatusChanged": "2026-12-06T12:00:00Z",
            "created": "2026-12-06T11:59:00+00:00",
            "expirationTime": "2027-01-05T11:59:00Z",
            "sender": "0192:930000000",
            "recipients": [
                {
                    "recipient": "0192:910000004",
                    "currentRecipientFileTransferStatusCode": "DownloadConfirmed",
                    "currentRecipientFileTransferStatusText": "Confirmed",
                    "currentRecipientFileTransferStatusChanged": "2026-12-06T12:05:00Z",
                }
            ],
            "propertyList": {"messageType": "pantedokument"},
            "fileTransferStatusHistory": [
                {"fileTransferStatus": "Initialized", "fileTransferStatusText": "", "fileTransferStatusChanged": None}
            ],
            "recipientFileTransferStatusHistory": [
                {
                    "recipient": "0192:910000004",
                    "recipientFileTransferStatusCode": "DownloadStarted",
                    "recipientFileTransferStatusText": "",
                    "recipientFileTransferStatusChanged": "2026-12-06T12:04:00Z",
                }
            ],
        }
    )
    assert details.status == "Published" and details.size == 1 and details.senders_reference == "sak-1"
    assert details.status_changed == datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    recipient = details.recipient("910000004")
    assert recipient is not None and recipient.status == "DownloadConfirmed"
    assert details.recipient("0192:910000004") == recipient and details.recipient("920000002") is None
    assert [e.status for e in details.history] == ["Initialized"] and details.history[0].changed is None
    assert details.recipient_history[0].recipient == "0192:910000004"
    assert party("910000004") == "0192:910000004" and party("0192:910000004") == "0192:910000004"
