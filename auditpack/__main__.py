from auditpack.cli.app import main

main()
