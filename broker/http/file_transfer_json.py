"""File transfers and resources in Altinn 3 Broker's JSON: its field names, enum spellings and party form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from broker.domain.file_transfers import FileTransfer, ResourceSettings, format_duration, party
from broker.usecases.file_transfers.queries import TransferDetails


def _time(value: datetime) -> str:
    return value.isoformat()


def overview_json(transfer: FileTransfer) -> dict[str, Any]:
    return {
        "fileTransferId": transfer.id,
        "resourceId": transfer.resource_id,
        "fileName": transfer.file_name,
        "sendersFileTransferReference": transfer.senders_reference,
        "checksum": transfer.checksum,
        "fileTransferSize": transfer.size,
        "fileTransferStatus": transfer.status.value,
        "fileTransferStatusText": transfer.status_text,
        "fileTransferStatusChanged": _time(transfer.status_changed_at),
        "created": _time(transfer.created_at),
        "expirationTime": _time(transfer.expires_at),
        "sender": party(transfer.sender),
        "recipients": [
            {
                "recipient": party(r.orgnr),
                "currentRecipientFileTransferStatusCode": r.status.value,
                "currentRecipientFileTransferStatusText": r.status_text,
                "currentRecipientFileTransferStatusChanged": _time(r.changed_at),
            }
            for r in transfer.recipients
        ],
        "propertyList": dict(transfer.properties),
    }


def details_json(details: TransferDetails) -> dict[str, Any]:
    body = overview_json(details.transfer)
    body["fileTransferStatusHistory"] = [
        {"fileTransferStatus": e.status, "fileTransferStatusText": e.text, "fileTransferStatusChanged": _time(e.at)}
        for e in details.history
    ]
    body["recipientFileTransferStatusHistory"] = [
        {
            "recipient": party(e.recipient),
            "recipientFileTransferStatusCode": e.status,
            "recipientFileTransferStatusText": e.text,
            "recipientFileTransferStatusChanged": _time(e.at),
        }
        for e in details.recipient_history
    ]
    return body


def resource_json(settings: ResourceSettings) -> dict[str, Any]:
    return {
        "maxFileTransferSize": settings.max_file_transfer_size,
        "fileTransferTimeToLive": format_duration(settings.time_to_live),
        "purgeFileTransferAfterAllRecipientsConfirmed": settings.purge_after_all_confirmed,
        "purgeFileTransferGracePeriod": format_duration(settings.purge_grace_period),
        "useManifestFileShim": settings.use_manifest_file_shim,
        "externalServiceCodeLegacy": None,
        "externalServiceEditionCodeLegacy": None,
        "requiredParty": None,
        "schemaSet": settings.schema_set,
        "accessList": [{"party": party(a.orgnr), "send": a.send, "receive": a.receive} for a in settings.access],
    }
