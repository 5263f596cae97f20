//! The compiler's version, for the bench report's `machine.rustc`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if let Ok(out) = std::process::Command::new(rustc).arg("--version").output()
        && out.status.success()
    {
        let v = String::from_utf8_lossy(&out.stdout);
        println!("cargo:rustc-env=RISKGATE_BENCH_RUSTC={}", v.trim());
    }
}
