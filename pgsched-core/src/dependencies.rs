//! Jobs that run after other jobs: the checks a schedule call makes before anything is
//! written.
//!
//! A job lists its parents ([`NewJob::parents`]); it stays [`blocked`](crate::JobStatus::Blocked)
//! until every parent has completed, and follows its [`OnParentFailure`](crate::job::OnParentFailure)
//! policy when one ends otherwise. A parent is a job that already exists or another job of the
//! same schedule call. Existing jobs cannot depend on jobs that do not exist yet, so a cycle
//! can only form inside one call: [`Batch::check`] refuses it, naming the jobs on it, before
//! the store writes anything. The store refuses parents that neither exist nor are in the
//! call ([`Error::UnknownParents`]).

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::job::{ConflictResolution, JobId, NewJob};

/// The dependencies of one schedule call, read from its jobs.
#[derive(Debug)]
pub struct Batch<'j> {
    jobs: &'j [NewJob],
    /// Whether any job has parents.
    linked: bool,
    /// Index of each id in the call (empty when no job has parents: an ordinary schedule
    /// call pays one pass over its jobs and nothing more).
    index: HashMap<&'j JobId, usize>,
}

impl<'j> Batch<'j> {
    /// The dependencies of `jobs` (one entry per id, as the store receives them).
    #[must_use]
    pub fn new(jobs: &'j [NewJob]) -> Batch<'j> {
        let linked = jobs.iter().any(|job| !job.parents.is_empty());
        let index = if linked {
            jobs.iter()
                .enumerate()
                .map(|(position, job)| (&job.id, position))
                .collect()
        } else {
            HashMap::new()
        };
        Batch {
            jobs,
            linked,
            index,
        }
    }

    /// Whether any job of the call has parents.
    #[must_use]
    pub fn has_dependencies(&self) -> bool {
        self.linked
    }

    /// Refuses what no database state can make valid: a job that depends on itself or a
    /// cycle among the call's jobs ([`Error::DependencyCycle`]), and dependencies combined
    /// with [`ConflictResolution::Replace`] (rewriting a job would leave its dependents'
    /// counts wrong; [`Error::InvalidInput`]).
    ///
    /// # Errors
    /// As above.
    pub fn check(&self, conflict: ConflictResolution) -> Result<()> {
        if !self.has_dependencies() {
            return Ok(());
        }
        if conflict == ConflictResolution::Replace {
            return Err(Error::InvalidInput {
                what: "dependencies",
                reason: "jobs that run after others cannot be scheduled with ConflictResolution::Replace; use Raise or Ignore".into(),
            });
        }
        match self.cycle() {
            Some(ids) => Err(Error::DependencyCycle { ids }),
            None => Ok(()),
        }
    }

    /// The parents that are not jobs of this call (they must already exist), each once,
    /// sorted.
    #[must_use]
    pub fn outside_parents(&self) -> Vec<&'j JobId> {
        self.parents(|parent| !self.index.contains_key(parent))
    }

    /// The parents that are jobs of this call, each once, sorted.
    #[must_use]
    pub fn inside_parents(&self) -> Vec<&'j JobId> {
        self.parents(|parent| self.index.contains_key(parent))
    }

    fn parents(&self, keep: impl Fn(&JobId) -> bool) -> Vec<&'j JobId> {
        let mut parents: Vec<&JobId> = self
            .jobs
            .iter()
            .flat_map(|job| &job.parents)
            .filter(|parent| keep(parent))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        parents.sort_unstable();
        parents
    }

    /// A cycle among the call's jobs, as the ids on it in dependency order (a parent before
    /// its child, the first id repeated at the end), or `None`. An iterative depth-first
    /// search: deep chains do not overflow the stack.
    fn cycle(&self) -> Option<Vec<JobId>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut marks = vec![Mark::New; self.jobs.len()];
        // Parents inside the call, by index.
        let parents = |node: usize| -> Vec<usize> {
            self.jobs[node]
                .parents
                .iter()
                .filter_map(|parent| self.index.get(parent).copied())
                .collect()
        };
        for start in 0..self.jobs.len() {
            if marks[start] != Mark::New {
                continue;
            }
            // The path from `start`, each node with the parents still to visit.
            let mut path: Vec<(usize, Vec<usize>)> = vec![(start, parents(start))];
            marks[start] = Mark::OnPath;
            while let Some((_, pending)) = path.last_mut() {
                match pending.pop() {
                    Some(next) => match marks[next] {
                        Mark::New => {
                            marks[next] = Mark::OnPath;
                            path.push((next, parents(next)));
                        }
                        Mark::OnPath => {
                            // The path from `next` to here, walked child → parent: reverse it.
                            let from = path.iter().position(|(node, _)| *node == next).unwrap_or(0);
                            let mut ids: Vec<JobId> = path[from..]
                                .iter()
                                .map(|(node, _)| self.jobs[*node].id.clone())
                                .collect();
                            ids.push(self.jobs[next].id.clone());
                            ids.reverse();
                            return Some(ids);
                        }
                        Mark::Done => {}
                    },
                    None => {
                        if let Some((node, _)) = path.pop() {
                            marks[node] = Mark::Done;
                        }
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobOptions;

    fn job(id: &str, parents: &[&str]) -> NewJob {
        NewJob {
            parents: parents
                .iter()
                .map(|parent| JobId::new(*parent).expect("valid id"))
                .collect(),
            ..NewJob::new("work", Vec::new(), JobOptions::STANDARD)
                .with_id(id)
                .expect("valid id")
        }
    }

    fn ids(ids: &[&JobId]) -> Vec<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    #[test]
    fn a_fan_out_and_fan_in_has_no_cycle() {
        let mut jobs = vec![job("root", &[])];
        let middle: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
        jobs.extend(middle.iter().map(|id| job(id, &["root"])));
        let refs: Vec<&str> = middle.iter().map(String::as_str).collect();
        jobs.push(job("sink", &refs));
        let batch = Batch::new(&jobs);
        assert!(batch.has_dependencies());
        assert!(batch.check(ConflictResolution::Raise).is_ok());
        assert_eq!(batch.inside_parents().len(), 51);
        assert!(batch.outside_parents().is_empty());
    }

    #[test]
    fn cycles_are_refused_with_the_jobs_on_them() {
        let jobs = [
            job("a", &["c"]),
            job("b", &["a"]),
            job("c", &["b"]),
            job("d", &["c"]),
        ];
        let Err(Error::DependencyCycle { ids }) =
            Batch::new(&jobs).check(ConflictResolution::Raise)
        else {
            panic!("a cycle is refused");
        };
        assert_eq!(ids.len(), 4, "{ids:?}");
        assert_eq!(ids.first(), ids.last());
        // Each id on the cycle is a parent of the next.
        for pair in ids.windows(2) {
            let child = jobs
                .iter()
                .find(|job| job.id == pair[1])
                .expect("on the cycle");
            assert!(child.parents.contains(&pair[0]), "{ids:?}");
        }
    }

    #[test]
    fn a_job_cannot_depend_on_itself() {
        let jobs = [job("a", &["a"])];
        assert!(matches!(
            Batch::new(&jobs).check(ConflictResolution::Ignore),
            Err(Error::DependencyCycle { ids }) if ids.len() == 2
        ));
    }

    #[test]
    fn a_long_chain_is_checked_without_recursion() {
        let names: Vec<String> = (0..100_000).map(|i| format!("j{i}")).collect();
        let jobs: Vec<NewJob> = names
            .iter()
            .enumerate()
            .map(|(i, id)| match i {
                0 => job(id, &[]),
                _ => job(id, &[&names[i - 1]]),
            })
            .collect();
        assert!(Batch::new(&jobs).check(ConflictResolution::Raise).is_ok());
    }

    #[test]
    fn parents_split_into_existing_and_same_call() {
        let jobs = [job("a", &["old2", "old1"]), job("b", &["a", "old1"])];
        let batch = Batch::new(&jobs);
        assert_eq!(ids(&batch.outside_parents()), ["old1", "old2"]);
        assert_eq!(ids(&batch.inside_parents()), ["a"]);
        assert!(matches!(
            batch.check(ConflictResolution::Replace),
            Err(Error::InvalidInput {
                what: "dependencies",
                ..
            })
        ));
        let plain = [job("x", &[])];
        assert!(
            Batch::new(&plain)
                .check(ConflictResolution::Replace)
                .is_ok()
        );
    }
}
