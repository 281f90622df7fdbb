//! A run: several files imported in one call, by the CLI (`import`, `import
//! auto`) and the desktop app alike. Each file stays atomic and idempotent on
//! its own (a bad file refuses itself, not its neighbours), while the run
//! reads the next file as one is written, builds a first load's search index
//! beside the payments and settlements, and brings the index level at its end.

use super::profile::{ImportKind, Profile};
use super::{ImportError, ImportOutcome, ImportProgress, ImportRequest, import_prepared, prepare_each};
use crate::operators::Operator;
use crate::store::{SearchIndexed, Store, StoreError};
use std::path::Path;
use std::time::{Duration, Instant};

/// One file of a run: the kind it is imported as, and the profile it is read
/// with (a profile of another kind refuses the file).
#[derive(Clone, Copy)]
pub struct RunFile<'a> {
    pub path: &'a Path,
    pub kind: ImportKind,
    pub profile: &'a Profile,
}

/// Where a file of `kind` (`None`: no profile fits it) and `bytes` stands in a
/// run: orders first, then payments, then settlement reports (the ledger
/// comes out the same in any order; this one reads best in the report), the
/// largest file of each kind first (into an empty table it loads in bulk, its
/// indexes built once at the end), and the files no profile fits last.
pub fn run_rank(kind: Option<ImportKind>, bytes: u64) -> (u8, std::cmp::Reverse<u64>) {
    let kind = match kind {
        Some(ImportKind::Orders) => 0,
        Some(ImportKind::Payments) => 1,
        Some(ImportKind::Settlements) => 2,
        None => 3,
    };
    (kind, std::cmp::Reverse(bytes))
}

/// The size `run_rank` ranks a file by: 0 when it cannot be read (its import
/// then says why).
pub fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What a run tells its caller as it goes; `index` is the file's place in the run.
pub enum RunEvent<'a> {
    /// The file at `index` is read and its write begins.
    Started { index: usize },
    /// Rows of the file at `index` written so far.
    Progress { index: usize, progress: ImportProgress },
    /// The file at `index` ended: imported, imported before, or refused. In a
    /// team copy a file ends once the team has it (the next file's write, or
    /// the run's end, confirms its upload).
    Ended { index: usize, result: &'a Result<ImportOutcome, ImportError> },
}

/// What a run came to.
pub struct RunReport {
    /// Each file that ended, with its place in the run, in the run's order.
    pub ended: Vec<(usize, Result<ImportOutcome, ImportError>)>,
    /// From the run's start to its last file's end.
    pub files_time: Duration,
    /// The search index brought level at the end, and how long that took
    /// (`None`: left for later).
    pub search: Option<(SearchIndexed, Duration)>,
}

impl RunReport {
    pub fn outcomes(&self) -> impl Iterator<Item = &ImportOutcome> {
        self.ended.iter().filter_map(|(_, r)| r.as_ref().ok())
    }

    pub fn failures(&self) -> impl Iterator<Item = &ImportError> {
        self.ended.iter().filter_map(|(_, r)| r.as_ref().err())
    }

    pub fn imported_files(&self) -> usize {
        self.outcomes().filter(|o| matches!(o, ImportOutcome::Imported(_))).count()
    }

    pub fn imported_rows(&self) -> i64 {
        self.outcomes()
            .map(|o| match o {
                ImportOutcome::Imported(report) => report.rows.total,
                ImportOutcome::AlreadyImported { .. } => 0,
            })
            .sum()
    }

    /// A file failed for a fault, not for its content: what came after it
    /// (a reconciliation) waits for a later run.
    pub fn has_fault(&self) -> bool {
        self.failures().any(|e| !e.is_refusal())
    }
}

/// Imports `files` in the order given (see [`run_rank`]) as `operator`, with
/// the buyer search index brought level at the end unless `no_index`.
/// `Err` is a fault of the store or the team that stopped the run: the files
/// that ended before it are kept, and were told to `events`.
pub fn import_run(
    store: &mut Store,
    files: &[RunFile<'_>],
    operator: &Operator,
    no_index: bool,
    events: &mut dyn FnMut(RunEvent<'_>),
) -> Result<RunReport, StoreError> {
    let started = Instant::now();
    let mut ended = Ended { ended: Vec::new(), unconfirmed: None, confirms_later: store.is_team_copy() };
    let paths: Vec<&Path> = files.iter().map(|f| f.path).collect();
    let mut search_image = None;
    let ran = store.write_run(|store| {
        let mut stopped = Ok(());
        prepare_each(&paths, &mut |index, prepared| {
            if stopped.is_err() {
                return;
            }
            let RunFile { path, kind, profile } = files[index];
            let request = ImportRequest { kind, profile, path, operator };
            events(RunEvent::Started { index });
            let mut progress = |progress| events(RunEvent::Progress { index, progress });
            let written = match prepared {
                Ok(file) => store.write(|s| Ok::<_, StoreError>(import_prepared(s, &request, file, &mut progress))),
                Err(e) => Ok(Err(e)),
            };
            stopped = ended.written(index, written, events);
            // Orders come first: once the last is in, a first load's search
            // index is built beside the payments and settlements (with
            // nothing after the orders, the catch-up at the end is quicker).
            let orders_end =
                kind == ImportKind::Orders && files.get(index + 1).is_some_and(|next| next.kind != ImportKind::Orders);
            if stopped.is_ok() && orders_end && !no_index {
                match store.write(|s| s.search_image_start()) {
                    Ok(image) => search_image = image,
                    Err(e) => stopped = Err(e),
                }
            }
        });
        stopped
    });
    ended.run_ended(ran, events)?;
    let files_time = started.elapsed();
    let imported = ended.ended.iter().any(|(_, r)| matches!(r, Ok(ImportOutcome::Imported(_))));
    let search = match !no_index && (imported || search_image.is_some()) {
        true => {
            let indexing = Instant::now();
            Some((store.write(|s| s.search_catch_up_from(search_image))?, indexing.elapsed()))
        }
        false => None,
    };
    Ok(RunReport { ended: ended.ended, files_time, search })
}

/// [`import_run`] of `files` given in any order (as an operator picks them):
/// they run in a run's order ([`run_rank`]), while the events and the report
/// name each file by its place in `files`, and the report lists them in that order.
pub fn import_run_in_order(
    store: &mut Store,
    files: &[RunFile<'_>],
    operator: &Operator,
    no_index: bool,
    events: &mut dyn FnMut(RunEvent<'_>),
) -> Result<RunReport, StoreError> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| run_rank(Some(files[i].kind), file_bytes(files[i].path)));
    let ordered: Vec<RunFile<'_>> = order.iter().map(|&i| files[i]).collect();
    let mut report = import_run(store, &ordered, operator, no_index, &mut |event| {
        events(match event {
            RunEvent::Started { index } => RunEvent::Started { index: order[index] },
            RunEvent::Progress { index, progress } => RunEvent::Progress { index: order[index], progress },
            RunEvent::Ended { index, result } => RunEvent::Ended { index: order[index], result },
        })
    })?;
    for (index, _) in &mut report.ended {
        *index = order[*index];
    }
    report.ended.sort_by_key(|(index, _)| *index);
    Ok(report)
}

/// The files of a run that ended, and in a team copy the last one written
/// until its upload is confirmed: a file is told imported only once the team
/// has it.
struct Ended {
    ended: Vec<(usize, Result<ImportOutcome, ImportError>)>,
    unconfirmed: Option<(usize, Result<ImportOutcome, ImportError>)>,
    confirms_later: bool,
}

impl Ended {
    /// One file's write: its result, or the fault that stops the run (the
    /// file before it, still unconfirmed, was put back with it).
    fn written(
        &mut self,
        index: usize,
        written: Result<Result<ImportOutcome, ImportError>, StoreError>,
        events: &mut dyn FnMut(RunEvent<'_>),
    ) -> Result<(), StoreError> {
        match written {
            Ok(result) if self.confirms_later => {
                if let Some((index, confirmed)) = self.unconfirmed.replace((index, result)) {
                    self.end(index, confirmed, events);
                }
                Ok(())
            }
            Ok(result) => {
                self.end(index, result, events);
                Ok(())
            }
            Err(e) => {
                self.unconfirmed = None;
                Err(e)
            }
        }
    }

    /// The write run's end: the last file confirmed, or the fault that stopped it.
    fn run_ended(
        &mut self,
        ran: Result<Result<(), StoreError>, StoreError>,
        events: &mut dyn FnMut(RunEvent<'_>),
    ) -> Result<(), StoreError> {
        match ran.and_then(|stopped| stopped) {
            Ok(()) => {
                if let Some((index, confirmed)) = self.unconfirmed.take() {
                    self.end(index, confirmed, events);
                }
                Ok(())
            }
            Err(e) => {
                self.unconfirmed = None;
                Err(e)
            }
        }
    }

    fn end(&mut self, index: usize, result: Result<ImportOutcome, ImportError>, events: &mut dyn FnMut(RunEvent<'_>)) {
        events(RunEvent::Ended { index, result: &result });
        self.ended.push((index, result));
    }
}
