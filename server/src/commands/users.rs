//! `flowdash users add|passwd|remove|list`: the users of `--auth users`, in the data dir.
//! A running server reads them at start.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::auth::users::{Secret, UserStore};
use crate::auth::Role;

/// What `flowdash users` is to do, checked and built from its flags by the command line (`cli`).
#[derive(Debug)]
pub struct UsersConfig {
    /// The data directory that holds `users.json`.
    pub data_dir: PathBuf,
    /// The change to make, or the listing.
    pub change: UserChange,
}

/// One `flowdash users` action.
#[derive(Debug)]
pub enum UserChange {
    /// Add a user with a role (an `ingest` user gets an API token).
    Add {
        /// The login name.
        name: String,
        /// What the user may do.
        role: Role,
        /// Read the password from the first line of stdin (otherwise one is made and printed).
        password_stdin: bool,
    },
    /// Give a user a new password (or token).
    Passwd {
        /// The login name.
        name: String,
        /// Read the password from the first line of stdin (otherwise one is made and printed).
        password_stdin: bool,
    },
    /// Remove a user.
    Remove {
        /// The login name.
        name: String,
    },
    /// Print every user and role.
    List,
}

/// Runs `flowdash users`.
pub fn run(config: UsersConfig) -> anyhow::Result<ExitCode> {
    let store = UserStore::open(&config.data_dir)?;
    match config.change {
        UserChange::Add {
            name,
            role,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let secret = store.add(&name, role, password.as_deref())?;
            report(&name, role.as_str(), secret, password.is_some());
        }
        UserChange::Passwd {
            name,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let secret = store.reset(&name, password.as_deref())?;
            report(&name, "", secret, password.is_some());
        }
        UserChange::Remove { name } => {
            store.remove(&name)?;
            eprintln!("removed user {name} (a running server forgets it at its next start)");
        }
        UserChange::List => {
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
