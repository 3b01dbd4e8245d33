//! The shape of the code and docs that reviews would otherwise have to keep by hand: checked on
//! every run, so it holds after the change that made it true.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A portal handler names its section in its extractor (`PortalAuth<section::Invoices>`), which
/// refuses a session with that section off before the handler runs: no hand-written guard.
#[test]
fn portal_sections_are_guarded_by_the_extractor_type() {
    let routes = root().join("api/src/routes");
    for file in rust_files(&routes) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("require_section("),
            "{}: a hand-written section guard; name the section in PortalAuth<section::…>",
            file.display()
        );
        for (n, line) in text.lines().enumerate() {
            if line.contains(": PortalAuth") || line.contains(": PortalVisitor") {
                assert!(
                    line.contains("<section::"),
                    "{}:{}: a portal extractor without its section",
                    file.display(),
                    n + 1
                );
            }
        }
    }
}

/// The README is a map: at most 15 KB, and every file it links to exists.
#[test]
fn the_readme_is_a_map() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.len() <= 15 * 1024,
        "README.md is {} bytes; move detail into docs/",
        readme.len()
    );
    let mut rest = readme.as_str();
    let mut links = 0;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let target = &rest[..rest.find(')').expect("a closed link")];
        rest = &rest[target.len()..];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        let file = target.split('#').next().unwrap();
        assert!(
            root().join(file).is_file(),
            "README.md links to {target}, which is not a file"
        );
        links += 1;
    }
    assert!(links >= 6, "the README links into docs/ ({links} links)");
}

/// Services of one concern each: no file in `domain/src/services` over 500 lines (a service
/// that grows splits into a folder, one file per concern).
#[test]
fn services_stay_small() {
    for file in rust_files(&root().join("domain/src/services")) {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        assert!(lines <= 500, "{}: {lines} lines", file.display());
    }
}

/// A handler parses, calls one service and presents: no handler body over 25 lines (rules and
/// parsing live in the domain and the DTOs).
#[test]
fn handlers_stay_short() {
    for file in rust_files(&root().join("api/src/routes")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            if !line.starts_with("pub async fn ") {
                continue;
            }
            let open = (at..lines.len())
                .find(|&i| lines[i].trim_end().ends_with('{'))
                .expect("a body");
            let mut depth = 0i32;
            let mut close = open;
            for (i, l) in lines.iter().enumerate().skip(open) {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                if depth == 0 {
                    close = i;
                    break;
                }
            }
            let body = close - open - 1;
            assert!(
                body <= 25,
                "{}:{}: a handler of {body} lines",
                file.display(),
                at + 1
            );
        }
    }
}

/// Ports are traits only (filters, changes and states live with their models), and every id a
/// port takes is typed: the account a `TenantId`, an object its resource's id type.
#[test]
fn ports_take_typed_ids_and_hold_traits_only() {
    let ports = std::fs::read_to_string(root().join("domain/src/ports.rs")).unwrap();
    for (n, line) in ports.lines().enumerate() {
        let at = n + 1;
        let trimmed = line.trim_start();
        for item in ["pub struct ", "pub enum ", "pub type "] {
            assert!(
                !trimmed.starts_with(item),
                "ports.rs:{at}: `{trimmed}` belongs with its model"
            );
        }
        let untyped = [
            "id: &str",
            "id: Option<&str>",
            "id: String",
            "ids: &[String]",
        ];
        // The merchant's own `external_id` is text, not one of the product's ids.
        for form in untyped.iter().filter(|_| !line.contains("external_id")) {
            assert!(
                !line.contains(form),
                "ports.rs:{at}: an untyped id (`{form}`); take the resource's id type"
            );
        }
    }
}

/// One service method per write, whoever asks: the actor says who, so there are no
/// `*_as_customer` / `*_own` twins of a merchant's method.
#[test]
fn no_customer_twins_of_service_methods() {
    for file in rust_files(&root().join("domain/src/services")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("pub fn ") else {
                continue;
            };
            let name = rest.split(['(', '<']).next().unwrap_or_default();
            assert!(
                !name.ends_with("_as_customer") && !name.ends_with("_own"),
                "{}:{}: `{name}` twins a merchant's method; take the Actor",
                file.display(),
                n + 1
            );
        }
    }
}
