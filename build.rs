//! Compiles the Slint UI. Debug info is kept in every profile so the testing backend can find
//! elements by accessible label (tests, benches and the screenshot command rely on it).
fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(true)
        .with_bundled_translations("ui/translations");
    if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
        eprintln!("the Slint UI failed to compile: {e}");
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed=ui");
}
