//! Regenerates `openapi/openapi.json` from the api crate's handlers:
//! `cargo run -p openapi --bin gen-openapi` (or `-- --check` to fail when it is out of date).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let spec = api::openapi_spec()
        .to_pretty_json()
        .expect("spec serialises")
        + "\n";
    if std::env::args().any(|a| a == "--check") {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != spec {
            eprintln!(
                "{} is out of date: run `cargo run -p openapi --bin gen-openapi`",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    std::fs::write(&path, spec).expect("write openapi.json");
    println!("wrote {}", path.display());
    ExitCode::SUCCESS
}
