//! `flowdash users add|passwd|remove|list`: the users of `--auth users`, in the data dir.
//! A running server reads them at start.

use std::io::BufRead;
use std::process::ExitCode;

use crate::auth::users::{Secret, UserStore};
use crate::cli::{UsersAction, UsersArgs};

pub fn run(args: UsersArgs) -> anyhow::Result<ExitCode> {
    let store = UserStore::open(&args.data_dir)?;
    match args.action {
        UsersAction::Add {
            name,
            role,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let secret = store.add(&name, role, password.as_deref())?;
            report(&name, role.as_str(), secret, password.is_some());
        }
        UsersAction::Passwd {
            name,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let secret = store.reset(&name, password.as_deref())?;
            report(&name, "", secret, password.is_some());
        }
        UsersAction::Remove { name } => {
            store.remove(&name)?;
            eprintln!("removed user {name} (a running server forgets it at its next start)");
        }
        UsersAction::List => {
            for (name, role) in store.list() {
                println!("{name}\t{}", role.as_str());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Says what was done; a secret flowdash made is printed once, on stdout, for scripts.
fn report(name: &str, role: &str, secret: Secret, given: bool) {
    let role = if role.is_empty() {
        String::new()
    } else {
        format!(" ({role})")
    };
    match secret {
        Secret::Token(token) => {
            eprintln!("user {name}{role}: its API token (shown once; send it as `Authorization: Bearer TOKEN`):");
            println!("{token}");
        }
        Secret::Password(_) if given => eprintln!("user {name}{role}: password set"),
        Secret::Password(password) => {
            eprintln!("user {name}{role}: its password (shown once):");
            println!("{password}");
        }
    }
}
