//! The embedding example (`examples/embed.rs`) decides as it says: the
//! clean withdrawal allowed, the designated destination denied on its hit.

#[allow(dead_code)] // its `main`
#[path = "../examples/embed.rs"]
mod embed;

use crate::Verdict;

#[test]
fn the_embedding_example_allows_the_clean_and_denies_the_designated() {
    let [clean, designated] = embed::decide();
    assert_eq!(
        (clean.id.as_str(), clean.verdict),
        ("w-1", Verdict::Allow),
        "{clean:?}"
    );
    assert!(
        clean.reasons.is_empty() && clean.hits.is_empty(),
        "{clean:?}"
    );
    assert_eq!(designated.id, "w-2");
    assert_eq!(designated.verdict, Verdict::Deny, "{designated:?}");
    assert!(
        designated.reasons.iter().any(|r| r.code == "sanctions.hit"),
        "{designated:?}"
    );
    assert_eq!(designated.hits.len(), 1, "{designated:?}");
    assert!(
        designated.hits[0]
            .address
            .eq_ignore_ascii_case("0x098B716B8Aaf21512996dC57EB0615e2383E2f96"),
        "{designated:?}"
    );
}
