"""Webhooks: payment status to the other components (the conversation, the CRM), signed.

An event is written to an outbox table when it happens and delivered from there, with retries;
`WebhookReceiver` is what a receiving component runs to verify and drop duplicates.
"""

from __future__ import annotations

from ._outbox import WebhookDelivery, WebhookEndpoint, WebhookPaymentRecorder, Webhooks
from ._signing import SIGNATURE_HEADER, WebhookReceiver, sign_webhook, verify_webhook
from ._tables import WebhookDeliveryRow, WebhookEndpointRow

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookDelivery",
    "WebhookDeliveryRow",
    "WebhookEndpoint",
    "WebhookEndpointRow",
    "WebhookPaymentRecorder",
    "WebhookReceiver",
    "Webhooks",
    "sign_webhook",
    "verify_webhook",
]
