//! Builds the bundled policies (`policies/*`) into components and embeds
//! them: `riskgate demo` and `riskgate check` without `--policy` run them.

use std::path::PathBuf;

const BUNDLED: &[(&str, &str, &str)] = &[
    (
        "SANCTIONS",
        "riskgate-policy-sanctions",
        "policies/sanctions",
    ),
    ("VELOCITY", "riskgate-policy-velocity", "policies/velocity"),
];

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .nth(2)
        .expect("host/riskgate/ is two levels below the root")
        .to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let packages: Vec<(&str, &str)> = BUNDLED.iter().map(|(_, p, d)| (*p, *d)).collect();
    let built =
        match riskgate_guest_build::build_components(&root, &packages, &out.join("policies")) {
            Ok(built) => built,
            Err(e) => {
                eprintln!("error: building the bundled policy components failed: {e:#}");
                std::process::exit(1);
            }
        };
    let mut code = String::new();
    for ((konst, _, _), component) in BUNDLED.iter().zip(&built) {
        code.push_str(&format!(
            "/// The bundled `{}` component.\npub const {konst}: &[u8] = include_bytes!({:?});\n",
            component.package,
            component.path.display().to_string()
        ));
    }
    std::fs::write(out.join("bundled.rs"), code).expect("writing bundled.rs");
}
