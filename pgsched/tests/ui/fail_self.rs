//! Methods cannot be jobs: the error points at the receiver.
use pgsched::job;

struct Mailer;

impl Mailer {
    #[job]
    async fn send(&self, to: String) -> Result<(), String> {
        let _ = to;
        Ok(())
    }
}

fn main() {
    let _ = Mailer.send("a@b.c".into());
}
