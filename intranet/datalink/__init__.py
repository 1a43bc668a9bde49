"""The data link with the delinquency system (滞納整理支援システム): CSV files
in and out, validated first and applied all together or not at all."""


def includeme(config):
    config.scan(".views")
