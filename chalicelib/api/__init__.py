"""HTTP edge: Blueprints with thin routes (parse → call a service → serialise)."""
