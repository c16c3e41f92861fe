"""The recompute pipeline: "a write happened" -> the snapshots the dashboards read.

    write (ingest, import, browser form, service)
      -> request.team_recompute_on_commit: after commit, enqueue one run per team (debounced)
      -> tasks.team_recompute_task -> run.team_recompute:
           passages.team_pending_drain (the deals the write marked, into StageFlow),
           the verdict and StageMetric snapshots, the winnable counts (throttled)
      -> request.company_recompute_request -> tasks.company_recompute_task -> company roll-up
    beat: tasks.teams_sweep_task (re-enqueues any team behind its watermark),
          tasks.teams_rebuild_task (nightly: one run.team_rebuild per team, isolated),
          tasks.integrity_check_task (nightly: orphans the dropped foreign keys allow).

Modules below `tasks` never import it: they enqueue by task name (queue.task_enqueue).
"""
