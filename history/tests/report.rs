//! Snapshots of the text and HTML reports of tiny histories.

mod common;

use history::report::{html, text, ReportInput};
use history::{CheckOptions, ModelKind, Value};

const STALE_READ: &str = "0 invoke write 1\n0 ok write 1\n1 invoke read\n0 invoke write 2\nnemesis info cut-power \"store\"\n1 ok read null\n0 ok write 2\n2 invoke read\n2 ok read 1\n3 invoke write 3\n3 info write";

fn reports(kind: ModelKind, history_text: &str) -> (String, String) {
    let history = common::history(history_text);
    let result = kind
        .check(Value::Nil, &history, &CheckOptions::default())
        .unwrap();
    let input = ReportInput {
        source: "tiny.jsonl",
        model: kind.name(),
        history: &history,
        result: &result,
    };
    (text(&input), html(&input))
}

#[test]
fn violation_reports() {
    let (text, html) = reports(ModelKind::Register, STALE_READ);
    insta::assert_snapshot!("violation_text", text);
    insta::assert_snapshot!("violation_html", html);
    assert!(
        !html.contains("http://")
            || html
                .matches("http://")
                .all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    );
    assert!(!html.contains("<script src") && !html.contains("<link"));
}

#[test]
fn ok_report() {
    let (text, _) = reports(
        ModelKind::Register,
        "0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read 1",
    );
    insta::assert_snapshot!("ok_text", text);
}
