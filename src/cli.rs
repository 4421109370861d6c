//! The command line: every subcommand, its flags and its help text with an example.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "edgeflow",
    version,
    about = "Declarative workflows, migrations and rate limits for fleets of edge nodes",
    long_about = "edgeflow checks, compiles and runs `.edgeflow` programs: workflows (DAGs of typed \
                  steps), migrations of workloads between edges, and rate-limit policies.",
    after_help = "Examples:\n  edgeflow run examples/leader_election.edgeflow --workflow elect_cache_leader\n  edgeflow check examples/\n  edgeflow compile examples/rate_limit.edgeflow -o rate_limit.bundle\n  edgeflow graph examples/leader_election.edgeflow --format mermaid\n  edgeflow explain E0302"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and type-check files and folders of `.edgeflow` sources.
    #[command(
        after_help = "Examples:\n  edgeflow check flows/\n  edgeflow check deploy.edgeflow --format json --deny warnings\n\nExit status: 0 no errors, 1 errors (or warnings with --deny warnings), 2 usage or I/O failure."
    )]
    Check {
        /// Files, or folders searched recursively for `*.edgeflow`.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Treat warnings as errors for the exit status.
        #[arg(long, value_name = "LEVEL", value_parser = ["warnings"])]
        deny: Option<String>,
        /// When to colour human output.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Compile a file to an IR bundle (all workflows, policies, migrations, a content hash).
    #[command(
        after_help = "Examples:\n  edgeflow compile deploy.edgeflow -o deploy.bundle\n  edgeflow compile deploy.edgeflow --emit ir-text"
    )]
    Compile {
        file: PathBuf,
        /// Where to write the bundle (required unless --emit ir-text).
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// What to produce.
        #[arg(long, value_enum, default_value_t = Emit::Bundle)]
        emit: Emit,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Draw a workflow's DAG: steps, data edges with the fields they carry, `after`
    /// edges dashed, guards and placement.
    #[command(
        after_help = "Examples:\n  edgeflow graph deploy.edgeflow --format dot | dot -Tsvg > deploy.svg\n  edgeflow graph deploy.edgeflow --workflow deploy --format mermaid"
    )]
    Graph {
        file: PathBuf,
        /// The workflow to draw; may be left out when the file has exactly one.
        #[arg(long, short)]
        workflow: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Run a workflow on an embedded single-node cluster (state kept in --data) and print
    /// its output as JSON.
    #[command(
        after_help = "Examples:\n  edgeflow run examples/rate_limit.edgeflow --workflow aggregate_usage --input us_east_1_usage=400 --input eu_west_1_usage=300\n  edgeflow run examples/leader_election.edgeflow --workflow elect_cache_leader --format json\n  edgeflow run flow.edgeflow --inputs inputs.json --ephemeral\n\nValues on stdout use the JSON encoding of LANGUAGE.md §7: durations as \"1m30s\", sizes in bytes,\nbandwidths in bits/s, rates as {\"count\": N, \"per\": \"1m\"}, edges/policies/migrations by name, none as null."
    )]
    Run {
        file: PathBuf,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Submit a workflow run to a running cluster: the compiled program is stored by its
    /// hash, a node drives the run (another takes over if that node dies), and the run
    /// id is printed. `--wait` follows the run to its end and prints its output.
    #[command(
        after_help = "Examples:\n  edgeflow submit examples/rate_limit.edgeflow --cluster http://127.0.0.1:8001 --token-file node-1.token\n  edgeflow submit deploy.edgeflow -w deploy -i version=1.4 --wait --format json --cluster http://127.0.0.1:8002\n\nExit status with --wait: 0 the run succeeded, 1 it failed, 2 usage or input errors."
    )]
    Submit {
        file: PathBuf,
        #[command(flatten)]
        options: SubmitOptions,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// List the runs recorded in a data dir (or on a cluster with --cluster), or show one
    /// with `runs show ID`.
    #[command(
        after_help = "Examples:\n  edgeflow runs\n  edgeflow runs show run-1795331525080-ab57 --format json\n  edgeflow runs --cluster http://127.0.0.1:8001 --token-file node-1.token --workflow nightly --format json"
    )]
    Runs {
        #[command(subcommand)]
        action: Option<RunsAction>,
        #[arg(long, value_name = "DIR", default_value = ".edgeflow", global = true)]
        data: PathBuf,
        /// List only the runs of this workflow.
        #[arg(long, short = 'w', value_name = "NAME")]
        workflow: Option<String>,
        /// `json`: an array of runs, each with `id`, `workflow`, `status`, `started`,
        /// `duration_ms` and, for a triggered run, `trigger`.
        #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
        format: Format,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// Run an edge node from its configuration file: a Raft voter, or a worker
    /// (`role = "worker"`) that heartbeats and takes the steps placed on its edge;
    /// `--check` only validates the file. A new cluster is bootstrapped with
    /// `edgeflow cluster init`; a worker is registered with `edgeflow worker add`.
    #[command(
        after_help = "Examples:\n  edgeflow node --config examples/cluster/voter.toml --check\n  edgeflow node --config node-1.toml &\n  edgeflow cluster init --cluster http://127.0.0.1:8001 --token-file node-1.token\n  edgeflow worker add --config factory-1.toml --cluster http://127.0.0.1:8001 --token-file node-1.token\n  edgeflow node --config factory-1.toml &\n\nStops cleanly on SIGINT or SIGTERM (a worker first finishes its steps and delivers their outcomes). With a [tls] table, Raft is mutual TLS and the API HTTPS."
    )]
    Node {
        /// The node's TOML configuration.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only validate the configuration (unknown keys, addresses, ids, timeouts) and exit.
        #[arg(long)]
        check: bool,
    },
    /// Administer a running cluster: bootstrap it, add, promote and remove members,
    /// show leader, term and every member's state and lag.
    #[command(
        after_help = "Examples:\n  edgeflow cluster init --cluster http://127.0.0.1:8001 --token-file node-1.token\n  edgeflow cluster add --config node-2.toml --cluster http://127.0.0.1:8001\n  edgeflow cluster promote 2 3 --cluster http://127.0.0.1:8001\n  edgeflow cluster remove 3 --cluster http://127.0.0.1:8001\n  edgeflow cluster status --cluster http://127.0.0.1:8002 --format json\n\nAny node's URL works: changes a follower receives are sent on to the leader."
    )]
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// Register workers and drive their lifecycle: list the fleet with each node's state
    /// and metrics, put a node in maintenance or take it out, drain it.
    #[command(
        after_help = "Examples:\n  edgeflow worker add --config factory-1.toml --cluster http://127.0.0.1:8001 --token-file node-1.token\n  edgeflow worker list --format json\n  edgeflow worker maintenance on 10 --comment \"disk swap\"\n  edgeflow worker maintenance off 10\n  edgeflow worker drain 10\n\nStates: starting, idle, running, terminating, offline, unknown (missed heartbeats), maintenance_request, maintenance_pending (steps still running), maintenance_mode, maintenance_exit, offline_maintenance."
    )]
    Worker {
        #[command(subcommand)]
        action: WorkerAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// Read and write the cluster's replicated key-value state (what `state.*` ops use).
    #[command(
        after_help = "Examples:\n  edgeflow state put config region '\"eu\"' --cluster http://127.0.0.1:8001\n  edgeflow state get config region --cluster http://127.0.0.1:8002\n  edgeflow state get config region --consistency local --cluster http://127.0.0.1:8003\n\nReads are linearizable from any node unless --consistency local."
    )]
    State {
        #[command(subcommand)]
        action: StateAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// Create, list and revoke scoped client tokens: what gateways, sensors and CI use
    /// instead of a member's token. The cluster keeps only each token's SHA-256.
    #[command(
        after_help = "Examples:\n  edgeflow token create --scope submit --expires 30d --description \"CI\" > ci.token\n  edgeflow token create --scope state:read --scope state:write\n  edgeflow token list --format json\n  edgeflow token revoke tok-3f9a0c12d4e5\n\nScopes: submit (submit and follow runs), state:read, state:write, ratelimit, events.\nA revoked or expired token is refused (401) by every node within a second."
    )]
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// Deploy a file to a cluster: its compiled bundle is stored by hash under a name
    /// (the file's stem, or --name) and its rate-limit policies become active on every
    /// node. Applying the same name again replaces the previous version.
    #[command(
        after_help = "Examples:\n  edgeflow apply examples/rate_limit.edgeflow --cluster http://127.0.0.1:8001 --token-file node-1.token\n  edgeflow apply limits.edgeflow --name edge-limits --shadow\n\n--shadow: the policies decide and count (`policy show`), but never deny.\nA policy name may be active in one deployment only."
    )]
    Apply {
        file: PathBuf,
        /// The deployment's name (default: the file's stem).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Shadow mode: decide and count, never deny.
        #[arg(long)]
        shadow: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// The triggers the cluster's deployments arm: schedules with their next fire time
    /// and latest tick, and the CloudEvents types that start workflows.
    #[command(
        after_help = "Examples:\n  edgeflow triggers list --cluster http://127.0.0.1:8001 --token-file node-1.token\n  edgeflow triggers list --format json\n\nSchedules are five-field cron in UTC or `on every D`; each tick fires once across the cluster. Events arrive at POST /v1/events (CloudEvents 1.0)."
    )]
    Triggers {
        #[command(subcommand)]
        action: TriggersAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// List, show and remove the cluster's deployments (`edgeflow apply`).
    #[command(
        after_help = "Examples:\n  edgeflow deployments list --cluster http://127.0.0.1:8001\n  edgeflow deployments show rate_limit --format json\n  edgeflow deployments remove rate_limit"
    )]
    Deployments {
        #[command(subcommand)]
        action: DeploymentsAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// The rate-limit policies the cluster enforces: definitions, the budget now, each
    /// edge's live lease and decisions.
    #[command(
        after_help = "Examples:\n  edgeflow policy list --cluster http://127.0.0.1:8001\n  edgeflow policy show generate_api --format json\n  edgeflow policy show per_user --key alice"
    )]
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// Workloads: named sets of records served by one edge, which migrations move.
    #[command(
        after_help = "Examples:\n  edgeflow workload create cache --edge us_east_1 --cluster http://127.0.0.1:8001\n  edgeflow workload fill cache --records 100000 --size 1024\n  edgeflow workload show cache --format json\n  edgeflow workload list"
    )]
    Workload {
        #[command(subcommand)]
        action: WorkloadAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// Migrations of workloads between edges: start one declared in a file, follow it,
    /// pause, resume, roll it back.
    #[command(
        after_help = "Examples:\n  edgeflow migrate start move_cache --file moves.edgeflow --cluster http://127.0.0.1:8001\n  edgeflow migrate status mig-0123456789ab --format json\n  edgeflow migrate pause mig-0123456789ab\n  edgeflow migrate rollback mig-0123456789ab --checkpoint cp-3\n  edgeflow migrate list"
    )]
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
        #[command(flatten)]
        target: ClusterTarget,
    },
    /// Explain a diagnostic code: what it means, an example that triggers it, the fix.
    #[command(after_help = "Examples:\n  edgeflow explain E0302\n  edgeflow explain --list")]
    Explain {
        /// A code such as E0302 or W0100.
        #[arg(required_unless_present = "list")]
        code: Option<String>,
        /// List every code with its one-line meaning.
        #[arg(long)]
        list: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// Which workflow of a file to run, and its parameter values (`run` and `submit`).
#[derive(Args, Debug)]
pub struct WorkflowInputs {
    /// The workflow to run; may be left out when the file has exactly one.
    #[arg(long, short)]
    pub workflow: Option<String>,
    /// A parameter value, `name=value` (repeatable). Strings as they are, other types
    /// as JSON or literal syntax (`5s`, `64MiB`).
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// A JSON object of parameter values (`--input` wins over it).
    #[arg(long = "inputs", value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,
}

/// How `edgeflow run` runs a workflow.
#[derive(Args, Debug)]
pub struct RunOptions {
    #[command(flatten)]
    pub chosen: WorkflowInputs,
    /// Where the embedded cluster keeps its state.
    #[arg(long, value_name = "DIR", default_value = ".edgeflow")]
    pub data: PathBuf,
    /// Use a fresh temporary data dir, deleted afterwards.
    #[arg(long, conflicts_with = "data")]
    pub ephemeral: bool,
    /// Output format: `json` is exactly the workflow's output as one JSON document;
    /// `pretty` (the default on a terminal) indents it.
    #[arg(long, value_enum)]
    pub format: Option<RunFormat>,
    /// Show each step's outcome and timing on stderr.
    #[arg(short, long)]
    pub verbose: bool,
    /// Continue a run that did not finish (its process died): steps it completed
    /// are not run again. The run id is printed on stderr when a run starts.
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["inputs", "inputs_file", "ephemeral"])]
    pub resume: Option<String>,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// Which cluster a command talks to, and as whom.
#[derive(Args, Debug)]
pub struct ClusterTarget {
    /// The API URL of any node of the cluster.
    #[arg(long, value_name = "URL", env = "EDGEFLOW_CLUSTER", global = true)]
    pub cluster: Option<String>,
    /// The token file of a cluster member (requests carry its token).
    #[arg(long, value_name = "FILE", env = "EDGEFLOW_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// For a cluster with TLS: the CA certificate (PEM) its nodes' certificates are
    /// signed by.
    #[arg(long, value_name = "FILE", env = "EDGEFLOW_CA", global = true)]
    pub ca: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum ClusterAction {
    /// Bootstrap a new cluster whose first voter is the node at --cluster.
    Init,
    /// Add the node a configuration file describes as a learner, and wait until it has
    /// caught up with the log.
    Add {
        /// The new node's TOML configuration (its id, addresses and token file).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Make learners voters (a joint-consensus membership change).
    Promote {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<u64>,
    },
    /// Remove members from the cluster.
    Remove {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<u64>,
    },
    /// Leader, term and each member's role, state and replication lag.
    Status {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorkerAction {
    /// Register the worker a configuration file describes (its id, edge, labels, token).
    Add {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Every node of the fleet: role, state, health, CPU, memory, latency.
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Forget a worker: its token is refused from then on.
    Remove { id: u64 },
    /// Ask a node for maintenance (it finishes running steps first) or end it.
    Maintenance {
        #[arg(value_enum)]
        mode: Switch,
        id: u64,
        /// Why, shown in `worker list`.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Ask a node to finish its steps and stop.
    Drain { id: u64 },
}

#[derive(Subcommand, Debug)]
pub enum TokenAction {
    /// Make a new token and print it alone on stdout (it is shown only this once).
    Create {
        /// What the token may do (repeatable): submit, state:read, state:write,
        /// ratelimit, events.
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
        /// How long it is valid (`30d`, `12h`); without it, until revoked.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// What the token is for, shown by `token list`.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
    },
    /// List the tokens: id, scopes, expiry, whether revoked (never the tokens).
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Revoke a token by its id.
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum TriggersAction {
    /// Every armed trigger: its deployment and workflow, its schedule or event type,
    /// the next fire time, the latest tick and the run it started.
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeploymentsAction {
    /// Every deployment: name, version, bundle hash, shadow mode, policies.
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// One deployment with its policies' definitions.
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Remove a deployment: its policies stop being enforced.
    Remove { name: String },
}

#[derive(Subcommand, Debug)]
pub enum MigrateAction {
    /// Start the migration NAME declared in a file (checked first: workloads on the
    /// source, both edges served, room on the target); prints its id.
    Start {
        name: String,
        /// The .edgeflow file declaring it.
        #[arg(long)]
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Every migration with its phase and progress.
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// One migration: phase, percent, bytes copied and sent, throughput, ETA,
    /// checkpoints, downtime, error.
    Status {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Stop moving bytes until resumed.
    Pause { id: String },
    /// Continue a paused migration.
    Resume { id: String },
    /// Back to the source (until its copy is removed), or back to a checkpoint.
    Rollback {
        id: String,
        /// Rewind the copy to this checkpoint (`migrate status` lists them) instead.
        #[arg(long, value_name = "CHECKPOINT")]
        checkpoint: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorkloadAction {
    /// Place a new, empty workload on an edge (a cluster member's edge).
    Create {
        name: String,
        /// The edge whose node will hold the records and take the writes.
        #[arg(long)]
        edge: String,
    },
    /// Every workload and the edge serving it.
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// A workload's edge, record count, bytes and content digest (computed on the
    /// serving edge; the same records give the same digest on any node).
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Write N records of random, incompressible values (for tests, demos, benchmarks).
    Fill {
        name: String,
        /// How many records (keys r0000000000, r0000000001, …; existing ones are
        /// overwritten).
        #[arg(long)]
        records: u64,
        /// Each value's size in bytes.
        #[arg(long)]
        size: u64,
        /// The random seed: the same seed gives the same records.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Remove a workload and every record of it.
    Remove { name: String },
}

#[derive(Subcommand, Debug)]
pub enum PolicyAction {
    /// Every active policy with its definition and deployment.
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// One policy: its definition, its budget now, the live lease of each edge and what
    /// each edge decided.
    Show {
        name: String,
        /// The budget of this key (policies with `by`).
        #[arg(long, value_name = "KEY", default_value = "")]
        key: String,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

#[derive(Subcommand, Debug)]
pub enum StateAction {
    /// Print a key's value and version as JSON.
    Get {
        namespace: String,
        key: String,
        #[arg(long, value_enum, default_value_t = Consistency::Linearizable)]
        consistency: Consistency,
    },
    /// Write a key (the value is JSON).
    Put {
        namespace: String,
        key: String,
        value: String,
        /// Write only if the key is at this version (0: only if it is absent); otherwise
        /// nothing is written and the command fails naming the current version. Versions
        /// never repeat for a key, also across a delete.
        #[arg(long = "if-version", value_name = "N")]
        if_version: Option<u64>,
    },
    /// Delete a key.
    Delete { namespace: String, key: String },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    Linearizable,
    Local,
}

/// What `edgeflow submit` runs and how it reports.
#[derive(Args, Debug)]
pub struct SubmitOptions {
    #[command(flatten)]
    pub chosen: WorkflowInputs,
    /// Follow the run to its end and print its output (as `edgeflow run` does).
    #[arg(long)]
    pub wait: bool,
    /// With --wait: `json` prints exactly the workflow's output; `pretty` indents it.
    #[arg(long, value_enum)]
    pub format: Option<RunFormat>,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Subcommand, Debug)]
pub enum RunsAction {
    /// One run: inputs, each completed step with attempts and timing, output or error.
    Show { run_id: String },
    /// Cancel a run on a cluster (needs --cluster): its running steps are stopped, no
    /// more start, and it ends `cancelled`.
    Cancel { run_id: String },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFormat {
    Json,
    Pretty,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    Bundle,
    IrText,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}
