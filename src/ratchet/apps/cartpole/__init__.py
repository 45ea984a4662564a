"""`ratchet cartpole ...` and the Gradio playground."""
