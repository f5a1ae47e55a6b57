//! The `rules` and `schema` commands as a rule author runs them: output and exit codes.

use crate::util::{paxrisk, root, tempdir};

#[test]
fn check_and_test_pass_on_the_bundled_pack() {
    let (code, out, err) = paxrisk(&["rules", "check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("rules check: ") && out.trim_end().ends_with("no problems"), "{out}");
    let (code, out, err) = paxrisk(&["rules", "test"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok   TKT-001    cash one-way ticket issued 12 h before departure\n"), "{out}");
    let last = out.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
}

#[test]
fn a_broken_pack_exits_1_with_located_errors_and_an_unloadable_one_exits_2() {
    let dir = tempdir().join("pack");
    std::fs::create_dir_all(dir.join("ticketing")).unwrap();
    for f in ["pack.toml", "ticketing/TKT-001.toml"] {
        std::fs::copy(root().join("rules").join(f), dir.join(f)).unwrap();
    }
    for sub in ["views", "reference", "lists"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(root().join("rules").join(sub)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    let rule = dir.join("ticketing/TKT-001.toml");
    let text = std::fs::read_to_string(&rule).unwrap().replace("weight = 30", "weight = 300");
    std::fs::write(&rule, text).unwrap();
    let (code, out, err) = paxrisk(&["rules", "check", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&format!("{}:5: weight 300 is outside 0-100", rule.display())), "{err}");
    std::fs::write(dir.join("pack.toml"), "name = 1").unwrap();
    let (code, _, err) = paxrisk(&["rules", "test", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pack.toml"), "{err}");
}

#[test]
fn doc_and_schema_describe_the_pack() {
    let (code, out, _) = paxrisk(&["rules", "doc"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# Rule catalogue: paxrisk-default"), "{}", &out[..200.min(out.len())]);
    assert!(out.contains("\n## TKT-001\n") && out.contains("```sql\npaid_cash AND trip_type = 'one_way'"), "{out}");
    let (code, out, _) = paxrisk(&["schema"]);
    assert_eq!(code, 0);
    assert!(out.contains("traveller_journey: one row per traveller on a pushed flight"), "{out}");
    assert!(out.contains("[sensitive: no rule may use it] Nationality from DOCS."), "{out}");
    assert!(out.contains("\n  hours_ticketed_before_departure "), "{out}");
}

#[test]
fn stats_counts_hits_on_real_input() {
    let Some(corpus) = crate::util::corpus("pnrgov") else { return };
    let (code, out, err) = paxrisk(&["rules", "stats", "--input", corpus.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("307 travellers on pushed flights"), "{out}");
    assert!(out.contains("\nTKT-001          30       37   12.052%  One-way ticket paid in cash"), "{out}");
}

#[test]
fn the_committed_catalogue_is_up_to_date() {
    let pack = paxrisk::rules::pack::Pack::load(&root().join("rules")).unwrap();
    let committed = std::fs::read_to_string(root().join("rules/CATALOGUE.md")).unwrap();
    assert!(
        committed == paxrisk::rules::doc::catalogue(&pack),
        "rules/CATALOGUE.md is stale: run `cargo run -- rules doc --out rules/CATALOGUE.md` and commit it with the rule change"
    );
}
