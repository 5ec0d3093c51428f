//! A map run's inputs: the items a page at a time from the reader, through `ItemSelector` and
//! `ItemBatcher`, one child's input at a time, with the mark another process goes on from.

use serde_json::Value;
use std::collections::VecDeque;
use stepwise_asl::errors;
use stepwise_engine::map_run::{Batcher, ItemSelection, MapRunRequest};
use stepwise_ports::execution::StoredExecution;
use stepwise_ports::tasks::TaskFailure;
use stepwise_tasks_aws::map_io::stream::{ItemSource, SourcePosition};

/// The children's next inputs: items a page at a time, selected, batched.
pub(super) struct Inputs<'d> {
    source: ItemSource,
    page: VecDeque<Value>,
    index: usize,
    selection: Option<ItemSelection<'d>>,
    batcher: Option<Batcher>,
    exhausted: bool,
    /// Where the current page started and how many of its items were taken.
    page_pos: SourcePosition,
    taken: usize,
    /// Where the inputs stand after the last child handed out: the page's start, the items
    /// of it taken, the next item's index (what a run carried on elsewhere reads from).
    pub(super) mark: (SourcePosition, usize, usize),
}

impl<'d> Inputs<'d> {
    pub(super) fn new(
        source: ItemSource,
        selection: Option<ItemSelection<'d>>,
        batcher: Option<Batcher>,
    ) -> Self {
        Inputs {
            page_pos: source.position(),
            mark: (source.position(), 0, 0),
            source,
            page: VecDeque::new(),
            index: 0,
            selection,
            batcher,
            exhausted: false,
            taken: 0,
        }
    }

    /// Goes on from a `mark` left by another process: the page read again, its first
    /// `taken` items skipped.
    pub(super) async fn carry_on(
        &mut self,
        mark: &(SourcePosition, usize, usize),
    ) -> Result<(), String> {
        self.source.seek(&mark.0).await?;
        self.index = mark.2;
        self.page_pos = mark.0.clone();
        self.mark = mark.clone();
        // The items taken from the page: a source read again from a byte gives the same page,
        // one that skipped items may give it in more than one.
        let mut skip = mark.1;
        while skip > 0 {
            match self.source.next_page().await? {
                Some(p) if p.len() <= skip => skip -= p.len(),
                Some(p) => {
                    self.page.extend(p.into_iter().skip(skip));
                    skip = 0;
                }
                None => {
                    self.exhausted = true;
                    skip = 0;
                }
            }
        }
        self.taken = mark.1;
        Ok(())
    }

    /// The next child's input and how many items it holds; `None` when there are no more.
    pub(super) async fn next(&mut self) -> Result<Option<(Value, u64)>, TaskFailure> {
        loop {
            let Some(item) = self.page.pop_front() else {
                if self.exhausted {
                    let last = self.batcher.as_mut().and_then(Batcher::flush);
                    self.mark = (self.source.position(), 0, self.index);
                    return Ok(last);
                }
                self.page_pos = self.source.position();
                self.taken = 0;
                match self.source.next_page().await {
                    Ok(Some(p)) => self.page.extend(p),
                    Ok(None) => self.exhausted = true,
                    Err(cause) => return Err(TaskFailure::new(errors::ITEM_READER_FAILED, cause)),
                }
                continue;
            };
            self.taken += 1;
            let i = self.index;
            self.index += 1;
            let input = match self.selection.as_mut() {
                Some(s) => s
                    .select(i, &item)
                    .map_err(|(e, c)| TaskFailure::new(e, c))?,
                None => item,
            };
            match self.batcher.as_mut() {
                Some(b) => {
                    if let Some(batch) = b.push(input) {
                        // This item starts the next batch: it is not handed out yet.
                        self.mark = (self.page_pos.clone(), self.taken - 1, i);
                        return Ok(Some(batch));
                    }
                }
                None => {
                    self.mark = (self.page_pos.clone(), self.taken, self.index);
                    return Ok(Some((input, 1)));
                }
            }
        }
    }
}

/// How many items and children the items given in the input make (selected and batched as
/// the run will), so the run counts them as pending from its start.
pub(super) fn precount(
    def: &stepwise_asl::model::Definition,
    parent: &StoredExecution,
    r: &MapRunRequest,
    items: &[Value],
) -> (u64, u64) {
    let mut selection = match r.selects {
        true => ItemSelection::new(def, parent.state.clone(), r.thread),
        false => None,
    };
    let Some(b) = r.batching.clone() else {
        return (items.len() as u64, items.len() as u64);
    };
    let mut batcher = Batcher::new(b);
    let mut children = 0;
    for (i, item) in items.iter().enumerate() {
        let input = match selection.as_mut().map(|s| s.select(i, item)) {
            Some(Ok(v)) => v,
            Some(Err(_)) => return (items.len() as u64, 0),
            None => item.clone(),
        };
        children += u64::from(batcher.push(input).is_some());
    }
    children += u64::from(batcher.flush().is_some());
    (items.len() as u64, children)
}
