from fieldasr.cli import main

main()
