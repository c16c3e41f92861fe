"""Setting up an organisation in the browser: new teams, invitations, members and their roles."""
