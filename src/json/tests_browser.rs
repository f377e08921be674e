//! The reader in the browser, where numbers go through `parseFloat`: serde_json's verdicts on the
//! hand-picked inputs (run by `wasm-pack test … -- --lib`).

use wasm_bindgen_test::*;

use super::corpus::{agree, hand_picked};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn agrees_with_serde_on_hand_picked_inputs() {
    for (name, data) in hand_picked() {
        agree(name, &data);
    }
}

#[wasm_bindgen_test]
fn numbers_read_as_serde_reads_them() {
    for progress in [
        "0",
        "-0",
        "1",
        "0.5",
        "0.1",
        "0.3333333333333333",
        "1e-7",
        "2.5E+3",
        "123456789012345678901",
        "4.9e-324",
        "1.7976931348623157e308",
        "1e309",
        "-1e309",
        "1e-400",
    ] {
        let data = format!(
            r#"{{"id":"t","title":"t","status":"done","agent":"a","progress":{progress},"version":1,"updated_at":"u"}}"#
        );
        agree("task", &data);
    }
}
