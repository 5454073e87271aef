//! Links wasi-libc's reactor start file so the module exports `_initialize` and no `_start`
//! (stable rustc has no flag for a wasip1 reactor).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("wasi") {
        println!("cargo:rustc-link-arg-cdylib=-l:crt1-reactor.o");
    }
}
