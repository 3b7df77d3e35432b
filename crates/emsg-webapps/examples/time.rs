fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let t = std::time::Instant::now();
    let v: Result<serde_yaml::Value, _> = serde_yaml::from_str(&text);
    println!(
        "serde {:?} {:?}",
        t.elapsed(),
        v.err().map(|e| e.to_string())
    );
    let t = std::time::Instant::now();
    let mut p = saphyr_parser::Parser::new_from_str(&text);
    let mut n = 0;
    while let Some(Ok(_)) = p.next_event() {
        n += 1;
    }
    println!("saphyr {:?} {n}", t.elapsed());
}
