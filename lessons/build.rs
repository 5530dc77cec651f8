// The course (book/src and exercises/) is embedded in the binary; rebuild when it changes.
fn main() {
    println!("cargo:rerun-if-changed=../book/src");
    println!("cargo:rerun-if-changed=../exercises");
}
