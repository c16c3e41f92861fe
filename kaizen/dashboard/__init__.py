"""The executive bottleneck dashboard: reads snapshots, draws the value stream and XmR charts."""
