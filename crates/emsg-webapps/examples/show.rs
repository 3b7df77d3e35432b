fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let bytes = std::fs::read(&path).unwrap_or_default();
    match emsg_webapps::parse_bytes(&path, &bytes) {
        Ok(p) => println!(
            "{} records\n{}",
            p.applications.len(),
            emsg_webapps::export(&p.applications)
        ),
        Err(e) => println!("{e}"),
    }
}
