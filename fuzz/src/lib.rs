//! What the fuzz targets share.

use serde_json::Value;

/// Whether `a` and `b` are the same JSON, numbers that are floats allowed to differ in their
/// last two bits. serde_json parses floats to within a bit or two unless its `float_roundtrip`
/// feature is on (it is not, in the workspace), so a value parsed from JSON that it wrote can
/// differ from the one it wrote there — found by these targets (`docs/toolchain.md`). Anything
/// else must be equal.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() && x.signum() == y.signum() => {
                x.to_bits().abs_diff(y.to_bits()) <= 3
            }
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
