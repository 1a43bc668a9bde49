"""Tax rules that do not depend on the database: business days and due dates
(納期限), late charges (延滞金), the Japanese era (和暦)."""
