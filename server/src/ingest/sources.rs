//! Inputs named on the command line: files, directories (recursively, in name order, as S3's
//! `AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/` layout lists them), and stdin.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// One input to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file (plain or `.gz`).
    File {
        /// Where it is.
        path: PathBuf,
        /// Its size in bytes, for the progress bar.
        size: u64,
    },
    /// Standard input (`-`).
    Stdin,
}

impl Input {
    /// How reports name it.
    pub fn name(&self) -> String {
        match self {
            Input::File { path, .. } => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
        }
    }

    /// Bytes to read, when known in advance.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File { size, .. } => Some(*size),
            Input::Stdin => None,
        }
    }

    /// Opens the input for reading, decompressing `.gz` files.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Input::File { path, .. } => Box::new(File::open(path)?),
            Input::Stdin => Box::new(io::stdin()),
        })
    }
}

/// Expands paths into inputs. Hidden files and directories are skipped inside directories.
pub fn expand(paths: &[String]) -> io::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let path = Path::new(path);
        let metadata = std::fs::metadata(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if metadata.is_dir() {
            walk(path, &mut inputs)?;
        } else {
            inputs.push(Input::File {
                path: path.to_owned(),
                size: metadata.len(),
            });
        }
    }
    Ok(inputs)
}

fn walk(dir: &Path, out: &mut Vec<Input>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            walk(&entry.path(), out)?;
        } else if file_type.is_file() {
            out.push(Input::File {
                path: entry.path(),
                size: entry.metadata()?.len(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_walked_in_order_like_an_s3_listing() {
        let dir = tempfile::tempdir().unwrap();
        let day = |d: &str| {
            dir.path()
                .join("AWSLogs/123456789012/vpcflowlogs/us-east-1/2020/03")
                .join(d)
        };
        for (d, name) in [("07", "b.log.gz"), ("06", "z.log.gz"), ("06", "a.log.gz")] {
            std::fs::create_dir_all(day(d)).unwrap();
            std::fs::write(day(d).join(name), b"x").unwrap();
        }
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        let inputs = expand(&[dir.path().display().to_string(), "-".into()]).unwrap();
        let names: Vec<String> = inputs
            .iter()
            .map(|i| {
                let name = i.name();
                name.rsplit('/')
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        assert_eq!(names, ["06/a.log.gz", "06/z.log.gz", "07/b.log.gz", "-"]);
        assert!(expand(&["/no/such/path".into()])
            .unwrap_err()
            .to_string()
            .contains("/no/such/path"));
    }
}
