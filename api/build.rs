// `postgres_tests`: TEST_DATABASE_URL was set, so PostgreSQL tests run; without it they are
// reported as ignored (with the reason) rather than passing without doing anything.
fn main() {
    println!("cargo:rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    if std::env::var_os("TEST_DATABASE_URL").is_some() {
        println!("cargo:rustc-cfg=postgres_tests");
    }
}
