/* Operations owned by the screening service (rows of the table in proto/ops.h). */
#ifndef WH_OPS_SCREENING_H
#define WH_OPS_SCREENING_H

#define WH_OPS_SCREENING(X)

#endif
