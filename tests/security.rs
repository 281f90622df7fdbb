//! Security findings checked through the `voucherdesk` binary.

mod common;
use common::*;

#[test]
fn demo_refused_for_a_support_operator_exits_2_and_writes_nothing() {
    let ctx = Ctx::new();
    let before = ctx.stats();
    let out = ctx.fails_with(2, ["--operator", "sam", "demo", "--orders", "200", "--seed", "7"]);
    assert_eq!(stderr(&out), "error: sam (support) may not import files\n");
    assert!(!ctx.dir.path().join("demo-files").exists(), "no demo file was written");
    assert_eq!(ctx.stats(), before, "nothing was imported");
}
