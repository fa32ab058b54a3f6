//! English.

use super::Texts;

pub static TEXTS: Texts = Texts {
    tag: "en",
    loading: "Preparing your payment…",
    scan: "Scan this code with the MOBILE-PAY app to pay.",
    scan_elsewhere: "Or scan this code with the MOBILE-PAY app on another phone.",
    open_app: "Pay with MOBILE-PAY",
    payment_code: "Payment code:",
    copy: "Copy the code",
    copied: "Code copied",
    copy_failed: "Could not copy: type the code in by hand.",
    expires_in: "Expires in",
    awaiting: "Waiting for your payment…",
    reconnecting: "Reconnecting…",
    paid: "Payment received. Thank you!",
    failed: "The payment failed",
    expired: "This code has expired.",
    retry: "Try again",
    new_code: "New code",
    qr_label: "MOBILE-PAY payment QR code for {amount}, code {code}",
    reasons: &[("INSUFFICIENT_FUNDS", "Insufficient funds")],
    reason_other: "The payment did not go through.",
    errors: &[
        (
            "NETWORK_ERROR",
            "Cannot connect. Check your network and try again.",
        ),
        (
            "INVALID_RESPONSE",
            "The payment service answered unexpectedly. Try again.",
        ),
        ("ORDER_NOT_FOUND", "This order cannot be found."),
        ("INVALID_ORDER_ID", "This order cannot be found."),
        (
            "SESSION_NOT_FOUND",
            "This payment cannot be found. Try again.",
        ),
        (
            "PAYMENT_PROVIDER_UNAVAILABLE",
            "The payment service is unavailable. Try again in a moment.",
        ),
        (
            "PAYMENT_PROVIDER_BUSY",
            "The payment service is busy. Try again in a moment.",
        ),
        (
            "PAYMENT_PROVIDER_ERROR",
            "The payment service refused the request. Try again.",
        ),
    ],
    error_other: "Something went wrong. Try again.",
};
