//! The OpenAPI description of the routes the widget calls from the shopper's browser
//! (`/checkout/sessions…`), merged into `/v1/openapi.json` under the tag `widget`. No key:
//! a session's capability rides in its URLs.

use utoipa::OpenApi;

use super::checkout;

#[derive(OpenApi)]
#[openapi(paths(checkout::create, checkout::status, checkout::events))]
struct WidgetDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    WidgetDoc::openapi()
}
