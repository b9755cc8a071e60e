//! The console's markup. `maud` escapes every interpolated value, so nothing a command carried
//! (a reason, an appeal's text) can inject markup; the pages load only the console's own
//! stylesheet and script (the Content-Security-Policy allows nothing else).

use super::decisions::ExplorerQuery;
use super::rules::{Backtest, Draft, InForce};
use super::session::Session;
use super::{CaseDetail, QueuePage, QueueQuery, REVIEW_SLA_MS};
use crate::backtest::Side;
use crate::projector::{DecisionEntry, RulesInstall};
use maud::{DOCTYPE, Markup, html};
use std::sync::atomic::Ordering;

/// Minor units as a decimal amount (two places).
fn money(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

fn signed_money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}", money(minor.unsigned_abs()))
}

/// An age as hours and minutes.
fn age(ms: u64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        0..60 => format!("{minutes} min"),
        _ => format!("{} h {:02} min", minutes / 60, minutes % 60),
    }
}

fn layout(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · creditline console" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/console/cases" { "creditline" }
                    @if let Some(session) = session {
                        nav {
                            a href="/console/cases" accesskey="q" { "Review queue" }
                            a href="/console/decisions" { "Decisions" }
                            a href="/console/rules" { "Rules" }
                        }
                        span.who { "key " (session.principal.key_id) " · " (session.principal.role.name()) }
                        form.inline method="post" action="/console/logout" {
                            input type="hidden" name="csrf_token" value=(session.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in form.
pub fn login(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            p { "Sign in with an API key (an analyst's, an admin's or the platform's; merchant keys cannot sign in). Create one with " code { "creditline keys create --role analyst" } "." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.login method="post" action="/console/login" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="off" required autofocus;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The review queue.
pub fn queue(session: &Session, query: &QueueQuery, page: &QueuePage) -> Markup {
    let field = |value: &Option<String>| value.clone().unwrap_or_default();
    let status = query.status.clone().unwrap_or_else(|| "open".to_owned());
    layout(
        "Review queue",
        Some(session),
        html! {
            h1 { "Review queue" }
            form.filters method="get" action="/console/cases" {
                label { "Status "
                    select name="status" {
                        @for option in ["open", "approved", "rejected", "all"] {
                            option value=(option) selected[status == option] { (option) }
                        }
                    }
                }
                label { "Reason " input name="reason" value=(field(&query.reason)) placeholder="e.g. ring_like"; }
                label { "Rule " input name="rule" value=(field(&query.rule)); }
                label { "Merchant " input name="merchant" inputmode="numeric" value=(field(&query.merchant)); }
                label { "Min amount (minor) " input name="min_amount" inputmode="numeric" value=(field(&query.min_amount)); }
                label { "Open ≥ hours " input name="min_age_hours" inputmode="numeric" value=(field(&query.min_age_hours)); }
                label { "Assignee "
                    select name="assignee" {
                        @for (value, text) in [("any", "anyone"), ("none", "no one"), ("me", "me")] {
                            option value=(value) selected[query.assignee.as_deref() == Some(value)] { (text) }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            p.hint { "Keys: " kbd { "j" } "/" kbd { "k" } " move, " kbd { "Enter" } " opens, " kbd { "n" } " opens the next case no one works. Rows past the review SLA (" (age(REVIEW_SLA_MS)) ") are marked. " a href="/console/cases/next" { "Next unassigned case →" } }
            @if page.rows.is_empty() {
                p.empty { "No case matches." }
            } @else {
                table.queue {
                    thead { tr { th { "Case" } th { "Age" } th { "Status" } th { "Assignee" } th { "User" } th { "Merchant" } th.num { "Held" } th { "Reasons" } th.num { "Score" } } }
                    tbody {
                        @for row in &page.rows {
                            tr.row.late[row.age_ms > REVIEW_SLA_MS && row.view.status == "open"] data-href=(format!("/console/cases/{}", row.id.0)) {
                                td { a href=(format!("/console/cases/{}", row.id.0)) { (row.id.0) } }
                                td { (age(row.age_ms)) @if row.age_ms > REVIEW_SLA_MS && row.view.status == "open" { " " span.badge { "past SLA" } } }
                                td { (row.view.status) }
                                td { @if let Some(key) = &row.view.assigned_to { (key) } }
                                td { @if let Some(user) = row.view.user_id { (user) } }
                                td { @if let Some(merchant) = row.merchant { (merchant.0) } }
                                td.num { @if let Some(amount) = row.amount_minor { (money(amount)) } }
                                td { (row.view.decision.reasons.join(", ")) }
                                td.num { (row.view.decision.score) }
                            }
                        }
                    }
                }
            }
            @if let Some(after) = page.next_after {
                p { a.next href=(next_link(query, after)) { "Next page →" } }
            }
            p.hint { "Engine time " (page.now_ms) " ms." }
        },
    )
}

/// The queue's link to the page after `after`, with the same filters.
fn next_link(query: &QueueQuery, after: u64) -> String {
    let mut link = form_urlencoded::Serializer::new(String::new());
    let fields = [
        ("status", &query.status),
        ("reason", &query.reason),
        ("rule", &query.rule),
        ("merchant", &query.merchant),
        ("min_amount", &query.min_amount),
        ("min_age_hours", &query.min_age_hours),
        ("assignee", &query.assignee),
    ];
    for (name, value) in fields {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            link.append_pair(name, value);
        }
    }
    link.append_pair("after", &after.to_string());
    format!("/console/cases?{}", link.finish())
}

/// A case: the held event, the decision inspector, the user's accounts, appeals, and the
/// verdict form for those who may decide.
pub fn case(session: &Session, detail: &CaseDetail, may_decide: bool, command_id: u64, error: Option<&str>) -> Markup {
    let view = &detail.view;
    let decision = &view.decision;
    layout(
        &format!("Case {}", view.case_id),
        Some(session),
        html! {
            p { a href="/console/cases" { "← Review queue" } }
            h1 { "Case " (view.case_id) " " span.status { (view.status) } }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            section.facts {
                h2 { "Held event" }
                dl {
                    dt { "Held" } dd { (view.held) }
                    @if let Some(amount) = detail.held_amount { dt { "Amount" } dd { (money(amount)) } }
                    @if let Some(user) = view.user_id { dt { "User" } dd { (user) } }
                    @if let Some(merchant) = view.merchant_id { dt { "Merchant" } dd { (merchant) } }
                    dt { "Opened" } dd { (age(detail.now_ms.saturating_sub(view.opened_at_ms))) " ago" }
                    @if let Some(by) = &view.opened_by { dt { "Sent by key" } dd { (by) } }
                    @if let Some(label) = &view.label { dt { "Label" } dd { (format!("{label:?}")) } }
                    @if let Some(by) = &view.decided_by { dt { "Decided by key" } dd { (by) } }
                }
            }
            section.inspector {
                h2 { "Decision" }
                p { "Rules version " (decision.rules_version) ": " strong { (format!("{:?}", decision.kind)) } ", score " (decision.score) "." }
                (fired_rules(decision))
            }
            @if let Some(user) = &detail.user {
                section.user {
                    h2 { "User" }
                    dl {
                        dt { "Limit" } dd { (money(user.account.limit_minor)) }
                        dt { "Credit used" } dd { (signed_money(user.account.credit_used_minor)) }
                        dt { "Credit held" } dd { (money(user.account.credit_held_minor)) }
                        dt { "Balance" } dd { (money(user.account.balance_minor)) " (held " (money(user.account.balance_held_minor)) ")" }
                        dt { "Credit frozen" } dd { (if user.account.credit_frozen { "yes" } else { "no" }) }
                        dt { "Score" } dd { (user.score) }
                        dt { "Risk actions in force" } dd { @if user.actions.is_empty() { "none" } @else { (user.actions.join(", ")) } }
                    }
                }
            }
            @if !view.appeals.is_empty() {
                section.appeals {
                    h2 { "Appeals" }
                    @for appeal in &view.appeals {
                        article {
                            p { (appeal.text) }
                            ul { @for evidence in &appeal.evidence { li { (format!("{:?}", evidence.kind)) ": " (evidence.reference) } } }
                        }
                    }
                }
            }
            @if view.status == "open" {
                section.assignment {
                    h2 { "Assignment" }
                    p { @match &view.assigned_to { Some(key) => { "Worked by key " strong { (key) } "." } None => "No one works this case yet." } }
                    @if may_decide {
                        form.inline method="post" action=(format!("/console/cases/{}/assignment", view.case_id)) {
                            input type="hidden" name="csrf_token" value=(session.csrf);
                            input type="hidden" name="command_id" value=(command_id.wrapping_add(1).max(1));
                            button type="submit" name="key_id" value="me" accesskey="c" { "Claim" }
                            " "
                            button type="submit" name="key_id" value="" { "Give back" }
                        }
                        form.inline method="post" action=(format!("/console/cases/{}/assignment", view.case_id)) {
                            input type="hidden" name="csrf_token" value=(session.csrf);
                            input type="hidden" name="command_id" value=(command_id.wrapping_add(2).max(1));
                            " " label { "Assign to key " input name="key_id" size="9" pattern="[0-9a-f]{8}" required; }
                            " " button type="submit" { "Assign" }
                        }
                    }
                }
            }
            @if may_decide && view.status == "open" {
                section.verdict {
                    h2 { "Verdict" }
                    form method="post" action=(format!("/console/cases/{}/decision", view.case_id)) {
                        input type="hidden" name="csrf_token" value=(session.csrf);
                        input type="hidden" name="command_id" value=(command_id);
                        label { "Label "
                            select name="label" {
                                option value="not_fraud" { "not fraud" }
                                @for typology in model::risk::Typology::SCHEMES.into_iter().chain([model::risk::Typology::Other]) {
                                    option value=(typology.name()) { "fraud: " (typology.name()) }
                                }
                            }
                        }
                        button type="submit" name="verdict" value="approve" accesskey="a" { "Approve (let it through)" }
                        button.danger type="submit" name="verdict" value="reject" accesskey="r" { "Reject" }
                    }
                }
            }
        },
    )
}

/// The decision inspector's tables: every rule that fired with its score and mode, every feature
/// value those rules read, and the account actions taken.
fn fired_rules(decision: &model::risk::Decision) -> Markup {
    html! {
        table {
            thead { tr { th { "Rule" } th { "Reason" } th.num { "Score" } th { "Mode" } } }
            tbody {
                @for fired in &decision.fired {
                    tr { td { (fired.rule) } td { (fired.reason) } td.num { (fired.score) } td { @if fired.shadow { "shadow" } @else { "active" } } }
                }
            }
        }
        h3 { "Feature values read" }
        table {
            thead { tr { th { "Feature" } th { "Value" } } }
            tbody { @for reading in &decision.readings { tr { td { code { (reading.feature) } } td { (reading.value) } } } }
        }
        @if !decision.actions.is_empty() {
            p { "Account actions taken: " (decision.actions.iter().map(|action| format!("{action:?}")).collect::<Vec<_>>().join(", ")) }
        }
    }
}

/// The decisions explorer.
pub fn decisions(session: &Session, query: &ExplorerQuery, rows: &[DecisionEntry], page_rows: usize) -> Markup {
    let field = |value: &Option<String>| value.clone().unwrap_or_default();
    layout(
        "Decisions",
        Some(session),
        html! {
            h1 { "Decisions" }
            form.filters method="get" action="/console/decisions" {
                label { "Decision "
                    select name="decision" {
                        option value="" { "any" }
                        @for option in ["challenge", "review", "deny", "allow"] {
                            option value=(option) selected[query.decision.as_deref() == Some(option)] { (option) }
                        }
                    }
                }
                label { "Kind " input name="kind" value=(field(&query.kind)) placeholder="e.g. pay"; }
                label { "Rule " input name="rule" value=(field(&query.rule)); }
                label { "User " input name="user" inputmode="numeric" value=(field(&query.user)); }
                label { "Merchant " input name="merchant" inputmode="numeric" value=(field(&query.merchant)); }
                button type="submit" { "Filter" }
            }
            @if rows.is_empty() {
                p.empty { "No decision matches." }
            } @else {
                table.decisions {
                    thead { tr { th { "Sequence" } th { "Command" } th { "Kind" } th { "Decision" } th.num { "Score" } th { "Rules fired" } th.num { "Time (ms)" } } }
                    tbody {
                        @for row in rows {
                            tr.row data-href=(format!("/console/decisions/{}", row.sequence)) {
                                td { a href=(format!("/console/decisions/{}", row.sequence)) { (row.sequence) } }
                                td { (row.command_id) }
                                td { (row.kind) }
                                td { (row.decision) }
                                td.num { (row.score) }
                                td { (fired_names(&row.evidence)) }
                                td.num { (row.time_ms) }
                            }
                        }
                    }
                }
            }
            @if let Some(last) = rows.last().filter(|_| rows.len() == page_rows) {
                p { a.next href=(older_link(query, last.sequence)) { "Older →" } }
            }
        },
    )
}

/// The rule ids a decision's evidence names, comma-separated.
fn fired_names(evidence: &serde_json::Value) -> String {
    let fired = evidence.get("fired").and_then(serde_json::Value::as_array);
    let names = fired.into_iter().flatten().filter_map(|rule| rule.get("rule")?.as_str());
    names.collect::<Vec<_>>().join(", ")
}

/// The explorer's link to the decisions before `sequence`, with the same filters.
fn older_link(query: &ExplorerQuery, sequence: i64) -> String {
    let mut link = form_urlencoded::Serializer::new(String::new());
    let fields = [
        ("decision", &query.decision),
        ("kind", &query.kind),
        ("rule", &query.rule),
        ("user", &query.user),
        ("merchant", &query.merchant),
    ];
    for (name, value) in fields {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            link.append_pair(name, value);
        }
    }
    link.append_pair("before", &sequence.to_string());
    format!("/console/decisions?{}", link.finish())
}

/// One decision's inspector.
pub fn decision(
    session: &Session,
    entry: &DecisionEntry,
    decision: Option<&model::risk::Decision>,
    has_case: bool,
) -> Markup {
    layout(
        &format!("Decision at {}", entry.sequence),
        Some(session),
        html! {
            p { a href="/console/decisions" { "← Decisions" } }
            h1 { "Decision at sequence " (entry.sequence) }
            dl {
                dt { "Command" } dd { (entry.command_id) " (" (entry.kind) ")" }
                dt { "Decision" } dd { (entry.decision) ", score " (entry.score) ", rules version " (entry.rules_version) }
                @if let Some(key) = &entry.key_id { dt { "Sent by key" } dd { (key) } }
                dt { "Time (ms)" } dd { (entry.time_ms) }
                @if has_case { dt { "Case" } dd { a href=(format!("/console/cases/{}", entry.command_id)) { "case " (entry.command_id) } } }
            }
            section.inspector {
                @match decision {
                    Some(decision) => (fired_rules(decision)),
                    None => pre { (entry.evidence.to_string()) },
                }
            }
        },
    )
}

/// The rules in force, their installs, and (for admins) the editor with its error on its line.
pub fn rules(session: &Session, in_force: &InForce, history: &[RulesInstall], editor: Option<(&Draft, u64)>) -> Markup {
    layout(
        "Rules",
        Some(session),
        html! {
            h1 { "Rules" }
            @if let Some(refusal) = editor.and_then(|(draft, _)| draft.refusal.as_ref()) { p.error role="alert" { (refusal) } }
            @match &in_force.rules {
                None => p.empty { "No rules are installed: every command is allowed unscored." },
                Some(rules) => {
                    p { "Version " strong { (rules.version) } " in force: challenge at " (rules.decision.challenge_at)
                        ", review at " (rules.decision.review_at) ", deny at " (rules.decision.deny_at) "." }
                    table.rules {
                        thead { tr { th { "Rule" } th { "Applies to" } th { "Status" } th.num { "Score" } th { "Reason" } th { "Actions" } } }
                        tbody {
                            @for rule in &rules.rules {
                                tr {
                                    td { code { (rule.id) } }
                                    td { (rule.applies_to.iter().map(|kind| kind.name()).collect::<Vec<_>>().join(", ")) }
                                    td { (format!("{:?}", rule.status).to_lowercase()) }
                                    td.num { (rule.score) }
                                    td { (rule.reason) }
                                    td { (rule.account_actions.iter().map(|action| format!("{action:?}")).collect::<Vec<_>>().join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Waiting for approval" }
            @if in_force.proposals.is_empty() {
                p.empty { "No proposal waits. An admin proposes a candidate below; a second admin approves it before it takes effect." }
            } @else {
                table.proposals {
                    thead { tr { th { "Proposal" } th { "Version" } th { "Proposed by key" } th { "Waiting" } th {} } }
                    tbody {
                        @for (id, proposal) in &in_force.proposals {
                            tr {
                                td { (id.0) }
                                td { (proposal.rules.version) }
                                td { (crate::auth::key_id_of(proposal.proposed_by).unwrap_or_default()) }
                                td { (age(in_force.now_ms.saturating_sub(proposal.proposed_at_ms))) }
                                td {
                                    @if let Some((_, command_id)) = editor {
                                        form.inline method="post" action=(format!("/console/rules/proposals/{}/approval", id.0)) {
                                            input type="hidden" name="csrf_token" value=(session.csrf);
                                            input type="hidden" name="command_id" value=(command_id);
                                            button type="submit" { "Approve and install" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "History" }
            table {
                thead { tr { th { "Sequence" } th { "Action" } th { "Version" } th { "Result" } th { "Key" } th.num { "Time (ms)" } } }
                tbody {
                    @for install in history {
                        tr {
                            td { (install.sequence) }
                            td {
                                @match (install.kind.as_str(), install.proposal) {
                                    ("approve_rules", Some(proposal)) => { "approval of " (proposal) }
                                    ("propose_rules", _) => "proposal",
                                    _ => "install",
                                }
                            }
                            td { @if let Some(version) = install.version { (version) } }
                            td { (install.result) }
                            td { @if let Some(key) = &install.key_id { (key) } }
                            td.num { (install.time_ms) }
                        }
                    }
                }
            }
            @if let Some((draft, command_id)) = editor {
                h2 { "Candidate" }
                p.hint { "Edit the rules file (docs/rules.md), then backtest it: the journal is replayed with it in place of every rules file it installed, and the decisions are compared." }
                @if let Some((line, message)) = &draft.error {
                    p.error role="alert" { "Line " (line) ": " (message) }
                    ol.source {
                        @for (number, text) in draft.toml.lines().enumerate() {
                            @let here = number + 1 == *line;
                            li.bad[here] id=[here.then_some("error-line")] { code { (text) } }
                        }
                    }
                }
                form.editor method="post" action="/console/rules/backtests" {
                    input type="hidden" name="csrf_token" value=(session.csrf);
                    input type="hidden" name="command_id" value=(command_id);
                    textarea name="toml" rows="24" spellcheck="false" aria-label="Candidate rules file" { (draft.toml) }
                    button type="submit" { "Check and backtest" }
                    " "
                    button.propose type="submit" formaction="/console/rules" { "Propose for activation" }
                }
            }
        },
    )
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |value| format!("{:.1} %", value * 100.0))
}

fn side_row(name: &str, side: &Side) -> Markup {
    html! {
        tr {
            th { (name) }
            @for kind in ["allow", "challenge", "review", "deny"] { td.num { (side.decisions.get(kind).copied().unwrap_or(0)) } }
            td.num { (ratio(side.precision)) }
            td.num { (ratio(side.recall)) }
        }
    }
}

/// A backtest: its progress while it runs (the page reloads every second), then its report.
pub fn backtest(session: &Session, job: &Backtest) -> Markup {
    let result = job.result.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (done, total) = (job.done.load(Ordering::Relaxed), job.total.load(Ordering::Relaxed));
    layout(
        "Backtest",
        Some(session),
        html! {
            p { a href="/console/rules" { "← Rules" } }
            h1 { "Backtest of version " (job.version) }
            p.hint { "Started by key " (job.started_by) "." }
            @match result.as_ref() {
                None => {
                    meta http-equiv="refresh" content="1";
                    p { "Replaying the journal: " (done) " of " (total) " commands." }
                    progress #progress value=(done) max=(total.max(1)) { (done) " of " (total) }
                }
                Some(Err(error)) => p.error role="alert" { "The backtest failed: " (error) },
                Some(Ok(report)) => {
                    p #report { (report.events) " commands replayed (" (format!("{:.0}", report.events_per_sec)) " a second); "
                        strong { (report.changed) } " decisions change, on events moving " (money(report.changed_minor)) "." }
                    table {
                        thead { tr { th {} th.num { "allow" } th.num { "challenge" } th.num { "review" } th.num { "deny" } th.num { "precision" } th.num { "recall" } } }
                        tbody { (side_row("journaled", &report.journaled)) (side_row("candidate", &report.candidate)) }
                    }
                    p.hint { "Precision and recall count the events of decided cases, by the analysts' labels." }
                    h2 { "Hits per rule" }
                    table {
                        thead { tr { th { "Rule" } th.num { "journaled" } th.num { "candidate" } } }
                        tbody {
                            @for rule in report.journaled.rule_hits.keys().chain(report.candidate.rule_hits.keys().filter(|rule| !report.journaled.rule_hits.contains_key(*rule))) {
                                tr {
                                    td { code { (rule) } }
                                    td.num { (report.journaled.rule_hits.get(rule).copied().unwrap_or(0)) }
                                    td.num { (report.candidate.rule_hits.get(rule).copied().unwrap_or(0)) }
                                }
                            }
                        }
                    }
                    h2 { "Changed decisions" }
                    table.changes {
                        thead { tr { th { "Sequence" } th { "Command" } th { "Kind" } th.num { "Amount" } th { "Journaled" } th { "Candidate" } } }
                        tbody {
                            @for change in &report.changes {
                                tr {
                                    td { (change.sequence) }
                                    td { (change.command_id) }
                                    td { (change.kind) }
                                    td.num { @if let Some(amount) = change.amount_minor { (money(amount)) } }
                                    td { (change.before) }
                                    td { (change.after) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
