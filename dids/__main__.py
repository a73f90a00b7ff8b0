from dids.cli import main

main()
