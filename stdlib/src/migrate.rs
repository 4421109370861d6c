//! `migrate.*`: workload migrations from a workflow. `start` takes the run's program's
//! declaration of the named migration and asks the cluster to plan and start it (the
//! same checks as `edgeflow migrate start`); the others follow and steer migrations by
//! id. They run on cluster members (a step placed on a worker is refused clearly).

use crate::op_fn::{OpFn, OpFuture};
use crate::result::{record, success};
use edgeflow_compiler::value::Value;
use edgeflow_runtime::migrations::{
    eta_ns, percent, phase_shown, MigrationAsk, MigrationError, MigrationPlan, MigrationRecord,
    MigrationReply,
};
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};

pub fn register(registry: &mut Registry) {
    registry.register("migrate.start", OpFn(start));
    registry.register("migrate.progress", OpFn(progress));
    registry.register("migrate.pause", OpFn(pause));
    registry.register("migrate.resume", OpFn(resume));
    registry.register("migrate.rollback", OpFn(rollback));
    registry.register("migrate.active", OpFn(active));
}

fn op_error(error: MigrationError) -> OpError {
    match error {
        MigrationError::Node(error) => OpError::Node(error),
        other => OpError::Failed(other.to_string()),
    }
}

fn unexpected(reply: MigrationReply) -> OpError {
    OpError::Failed(format!("unexpected answer about migrations: {reply:?}"))
}

async fn ask(context: &OpContext, asked: MigrationAsk) -> Result<MigrationReply, OpError> {
    context.host.migration(asked).await.map_err(op_error)
}

fn start<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let name = match args.get("migration")? {
            Value::Migration(name) | Value::String(name) => name,
            _ => {
                return Err(OpError::BadArgument {
                    name: "migration".into(),
                    expected: "a migration",
                })
            }
        };
        let declared = context
            .migrations
            .iter()
            .find(|m| &m.name == name)
            .ok_or_else(|| {
                OpError::Failed(format!("no migration `{name}` in this run's program"))
            })?;
        let plan = MigrationPlan::from_ir(declared).map_err(OpError::Failed)?;
        match ask(context, MigrationAsk::Start(plan)).await? {
            MigrationReply::Started { id, phase } => Ok(record([
                ("migration_id", Value::String(id)),
                ("phase", Value::String(phase.name().to_string())),
            ])),
            other => Err(unexpected(other)),
        }
    })
}

fn progress<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let id = args.string("migration_id")?.to_string();
        let MigrationReply::Record(found) = ask(context, MigrationAsk::Get(id)).await? else {
            return Err(OpError::Failed(
                "unexpected answer about a migration".into(),
            ));
        };
        Ok(record([
            ("phase", Value::String(phase_shown(&found).to_string())),
            ("percent", Value::Float(percent(&found))),
            ("bytes_copied", Value::Size(found.progress.bytes_copied)),
            ("eta", eta_ns(&found).map_or(Value::None, Value::Duration)),
        ]))
    })
}

/// A steering request: refused (a finished migration) is `success: false`, an
/// unknown id an error.
async fn steer(context: &OpContext, asked: MigrationAsk) -> Result<Option<String>, OpError> {
    match context.host.migration(asked).await {
        Ok(MigrationReply::Done { phase }) => Ok(Some(phase.name().to_string())),
        Ok(other) => Err(unexpected(other)),
        Err(MigrationError::Refused(_)) => Ok(None),
        Err(error) => Err(op_error(error)),
    }
}

fn pause<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let id = args.string("migration_id")?.to_string();
        Ok(success(
            steer(context, MigrationAsk::Pause(id)).await?.is_some(),
        ))
    })
}

fn resume<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let id = args.string("migration_id")?.to_string();
        Ok(success(
            steer(context, MigrationAsk::Resume(id)).await?.is_some(),
        ))
    })
}

fn rollback<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let id = args.string("migration_id")?.to_string();
        let checkpoint = match args.get("checkpoint")? {
            Value::String(checkpoint) => Some(checkpoint.clone()),
            _ => None,
        };
        let asked = MigrationAsk::Rollback {
            id: id.clone(),
            checkpoint,
        };
        let phase = match steer(context, asked).await? {
            Some(phase) => (true, phase),
            None => match ask(context, MigrationAsk::Get(id)).await? {
                MigrationReply::Record(found) => (false, phase_shown(&found).to_string()),
                other => return Err(unexpected(other)),
            },
        };
        Ok(record([
            ("success", Value::Bool(phase.0)),
            ("phase", Value::String(phase.1)),
        ]))
    })
}

fn summary(migration: &MigrationRecord) -> Value {
    record([
        ("migration_id", Value::String(migration.id.clone())),
        ("name", Value::String(migration.plan.name.clone())),
        ("phase", Value::String(phase_shown(migration).to_string())),
        ("percent", Value::Float(percent(migration))),
    ])
}

fn active<'a>(context: &'a OpContext, _args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        match ask(context, MigrationAsk::Active).await? {
            MigrationReply::Active(migrations) => Ok(record([(
                "migrations",
                Value::List(migrations.iter().map(summary).collect()),
            )])),
            other => Err(unexpected(other)),
        }
    })
}
