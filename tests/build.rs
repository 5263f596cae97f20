//! Builds the hostile test guest into a component for the fault tests.

use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let built = match riskgate_guest_build::build_components(
        &root,
        &[("riskgate-hostile-guest", "tests/guests/hostile")],
        &out.join("guests"),
    ) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("error: building the hostile test guest failed: {e:#}");
            std::process::exit(1);
        }
    };
    std::fs::write(
        out.join("guests.rs"),
        format!(
            "/// The hostile test guest component.\npub const HOSTILE: &[u8] = include_bytes!({:?});\n",
            built[0].path.display().to_string()
        ),
    )
    .expect("writing guests.rs");
}
