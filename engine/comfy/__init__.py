"""ComfyUI's formats, without I/O: the node catalogue and offline validation, UI -> API import,
validation-error messages and history parsing."""
