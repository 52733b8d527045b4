"""The staff desk's pages, a module each: they read the input with a form, then call a
selector or `staffdesk.actions.perform` (through `common.run_action`) and render."""
