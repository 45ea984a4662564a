from ratchet.apps.cli import main

main()
