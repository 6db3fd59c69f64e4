def print_check_report(report): raise NotImplementedError
