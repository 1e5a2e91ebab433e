/* Operations owned by the surveys service (rows of the table in proto/ops.h). */
#ifndef WH_OPS_SURVEYS_H
#define WH_OPS_SURVEYS_H

#define WH_OPS_SURVEYS(X)

#endif
